package job

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// maxHylaFAXConfig bounds the read of a HylaFAX configuration file: they
// are a few KiB with comments.
const maxHylaFAXConfig = 256 << 10

// maxRequeue caps a retry delay (seconds): a week is beyond any job's
// kill time.
const maxRequeue = 7 * 24 * 3600

// faxsendConf holds what HylaFAX's faxsend takes from the HylaFAX
// configuration rather than the job: the retry delays (hylafax-config(5)
// JobReqBusy, JobReqNoAnswer, JobReqNoCarrier, JobReqProto) and UseJobTSI.
type faxsendConf struct {
	requeue
	// useJobTSI lets the job's own TSI (the qfile's tsi, sendfax -i)
	// replace LocalIdentifier; HylaFAX's default is no.
	useJobTSI bool
}

// requeue holds the delays before a retry.
type requeue struct {
	busy, noAnswer, noCarrier, proto time.Duration
}

// defaultFaxsendConf holds HylaFAX's defaults.
var defaultFaxsendConf = faxsendConf{
	requeue: requeue{busy: 180 * time.Second, noAnswer: 300 * time.Second, noCarrier: 300 * time.Second, proto: 60 * time.Second},
}

// loadFaxsendConf reads the settings of the spool's etc/config and
// etc/config.<modem> (the modem's file wins), then the JobControl pairs
// faxq passed (-c), which win over both, as faxsend applies them last.
// Missing files and bad values keep the defaults.
func loadFaxsendConf(spool, modem string, controls map[string]string) faxsendConf {
	c := defaultFaxsendConf
	for _, name := range []string{"etc/config", "etc/config." + modem} {
		f, err := os.Open(filepath.Join(spool, name))
		if err != nil {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(f, maxHylaFAXConfig))
		f.Close()
		if err == nil {
			c = parseFaxsendConf(hylafax.ParseConfig(b), c)
		}
	}
	var items []hylafax.ConfigItem
	for tag, value := range controls {
		items = append(items, hylafax.ConfigItem{Tag: tag, Value: value})
	}
	return parseFaxsendConf(items, c)
}

// parseFaxsendConf returns c with the settings of items. Delays that are
// not whole seconds within maxRequeue are skipped; other tags are not
// faxsend's business here.
func parseFaxsendConf(items []hylafax.ConfigItem, c faxsendConf) faxsendConf {
	for _, it := range items {
		if it.Tag == "usejobtsi" {
			c.useJobTSI = hylafax.ConfigBool(it.Value)
			continue
		}
		n, err := strconv.Atoi(it.Value)
		if err != nil || n < 0 || n > maxRequeue {
			continue
		}
		d := time.Duration(n) * time.Second
		switch it.Tag {
		case "jobreqbusy":
			c.busy = d
		case "jobreqnoanswer":
			c.noAnswer = d
		case "jobreqnocarrier":
			c.noCarrier = d
		case "jobreqproto":
			c.proto = d
		}
	}
	return c
}
