// Package config reads Rampart's configuration from RAMPART_* environment
// variables (and DATABASE_URL) overridden by command-line flags, and
// validates it. An invalid value stops start-up with a message that names
// the variable or flag and says how to fix it.
package config
