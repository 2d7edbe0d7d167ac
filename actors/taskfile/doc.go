// Package taskfile loads taskvisor's task files: a TOML catalogue of tasks
// and supervision groups, or a Procfile, into the specs of package actors.
//
// The loader is strict. Unknown keys, wrong types, bad durations, signals
// and enum values, duplicate names or keys, unknown or cyclic groups are
// errors, each with the file, line and column, the field, what was expected
// and what was found:
//
//	tasks.toml:7:17: task "web": stall_timeout: "10" is not a duration (like "10s" or "1m30s")
//
// Every error found is reported, not just the first, except that a TOML
// syntax error stops the load where it is. Fields a file leaves out stay at
// their zero value, so that the runtime's documented defaults apply; an
// explicit zero where zero would silently mean a non-zero default (stop_grace
// = "0s" is 5s) is an error instead.
//
// docs/taskfile.md describes every field with its type and default.
package taskfile
