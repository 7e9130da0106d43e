// Package demo seeds the demo organization that `rampart serve --demo`
// shows: one user per role and a few venues, created on the service path
// with audit events, and left alone when it already exists.
package demo
