package receive

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// TestInvalidUUIDRefused: a connection whose channel's Unique-ID is not
// a UUID is refused before anything of it goes into a command: the only
// command is exit, no modem or recvq file is taken.
func TestInvalidUUIDRefused(t *testing.T) {
	for _, uuid := range []string{
		"",
		"abc",
		"0d1c2b3a-0000-4000-8000-000000000001\nexit",
		"0d1c2b3a-0000-4000-8000-000000000001 NORMAL_CLEARING",
		"0d1c2b3a-0000-4000-8000-00000000000g",
		"0d1c2b3a-0000-4000-8000-0000000000011",
		"${system(id)}",
		"../../etc",
	} {
		t.Run(uuid, func(t *testing.T) {
			h := newHandler(t)
			var obs recorder
			h.Observer = &obs
			ch := newFakeChannel(map[string]string{"sip_to_user": "5551236"})
			ch.data.Headers = slices.DeleteFunc(ch.data.Headers, func(h esl.Header) bool { return h.Name == "Unique-ID" })
			if uuid != "" {
				ch.data.Headers = append(ch.data.Headers, esl.Header{Name: "Unique-ID", Value: uuid})
			}
			h.Serve(context.Background(), ch)
			if !slices.Equal(ch.cmds, []string{"exit"}) {
				t.Errorf("commands %q, want only exit", ch.cmds)
			}
			if len(obs.outs) != 1 || obs.outs[0].Class != ClassError {
				t.Errorf("outcomes %+v, want one %s", obs.outs, ClassError)
			}
			if entries, _ := os.ReadDir(filepath.Join(h.Spool, "recvq")); len(entries) != 0 {
				t.Errorf("recvq %v, want empty", entries)
			}
		})
	}
	// A real UUID, in either case, is taken.
	for _, uuid := range []string{"0d1c2b3a-0000-4000-8000-000000000001", "0D1C2B3A-ABCD-4000-8000-00000000000F"} {
		h := newHandler(t)
		ch := newFakeChannel(map[string]string{"sip_to_user": "5551236"})
		ch.data.Headers = slices.DeleteFunc(ch.data.Headers, func(h esl.Header) bool { return h.Name == "Unique-ID" })
		ch.data.Headers = append(ch.data.Headers, esl.Header{Name: "Unique-ID", Value: uuid})
		h.Serve(context.Background(), ch)
		if !slices.Contains(ch.cmds, "filter Unique-ID") {
			t.Errorf("%s: commands %q, want the call taken", uuid, ch.cmds)
		}
	}
}
