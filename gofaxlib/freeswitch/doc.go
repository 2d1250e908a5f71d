// Package freeswitch holds typed operations over FreeSWITCH's event socket
// for fax: dial strings and originate commands that nothing outside can
// inject into (Dial), mod_db access (DB) with the per-destination overrides
// and the softmodem fallback list, and the conversion of mod_spandsp events
// into a gofaxlib.Result (Tracker).
//
// The package talks to FreeSWITCH only through the small API interface, so
// it works with an *esl.Conn, an outbound connection or a test double.
package freeswitch

import "context"

// API runs one FreeSWITCH API command ("api <cmd>") and returns its output.
// *esl.Conn satisfies it. Output starting with "-ERR" may come with or
// without an error; both are handled.
type API interface {
	API(ctx context.Context, cmd string) (string, error)
}
