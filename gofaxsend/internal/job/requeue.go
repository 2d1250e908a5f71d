package job

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// maxHylaFAXConfig bounds the read of a HylaFAX configuration file: they
// are a few KiB with comments.
const maxHylaFAXConfig = 256 << 10

// maxRequeue caps a retry delay (seconds): a week is beyond any job's
// kill time.
const maxRequeue = 7 * 24 * 3600

// requeue holds the delays before a retry that HylaFAX's faxsend takes
// from its configuration (hylafax-config(5) JobReqBusy, JobReqNoAnswer,
// JobReqNoCarrier, JobReqProto).
type requeue struct {
	busy, noAnswer, noCarrier, proto time.Duration
}

// defaultRequeue holds HylaFAX's defaults.
var defaultRequeue = requeue{busy: 180 * time.Second, noAnswer: 300 * time.Second, noCarrier: 300 * time.Second, proto: 60 * time.Second}

// loadRequeue reads the JobReq* settings of the spool's etc/config and
// etc/config.<modem> (the modem's file wins), as faxsend would see them.
// Missing files and bad values keep the defaults.
func loadRequeue(spool, modem string) requeue {
	r := defaultRequeue
	for _, name := range []string{"etc/config", "etc/config." + modem} {
		f, err := os.Open(filepath.Join(spool, name))
		if err != nil {
			continue
		}
		r = parseRequeue(io.LimitReader(f, maxHylaFAXConfig), r)
		f.Close()
	}
	return r
}

// parseRequeue reads "Tag: value" lines of a HylaFAX configuration file
// and returns r with the JobReq* values it sets. Other tags, comments and
// values that are not whole seconds are skipped.
func parseRequeue(rd io.Reader, r requeue) requeue {
	sc := bufio.NewScanner(rd)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(v), `"`))
		if err != nil || n < 0 || n > maxRequeue {
			continue
		}
		d := time.Duration(n) * time.Second
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "jobreqbusy":
			r.busy = d
		case "jobreqnoanswer":
			r.noAnswer = d
		case "jobreqnocarrier":
			r.noCarrier = d
		case "jobreqproto":
			r.proto = d
		}
	}
	return r
}
