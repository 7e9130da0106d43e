// Command rampart is the Rampart server: the API, the console and the AI job
// worker in one binary, plus the operator commands (migrate, rls-audit, db).
// All wiring happens here, in the Main type, which tests run on port 0.
package main
