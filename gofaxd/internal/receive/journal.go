package receive

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
	"github.com/gofaxserver/gofaxserver/gofaxlib/journal"
)

// Journal record kinds and consumers of receptions (see gofaxlib/journal).
const (
	// KindRecvStart is written when a reception's file has been created,
	// before the call is answered; its payload is a Reception. It is
	// pending for ConsumerRecv until the reception is recorded.
	KindRecvStart = "recv.start"
	// KindRecvDone is written, durably, when a reception is recorded
	// (tagged, RECV record, session log); its payload is a Received and
	// its ID that of its recv.start with DoneSuffix. It is pending for
	// ConsumerFaxrcvd until faxrcvd ran for it (or had nothing to do).
	KindRecvDone = "recv.done"

	// ConsumerRecv finishes receptions: a recv.start pending at start-up
	// is a reception an earlier run did not record (see Recovery).
	ConsumerRecv = "recv"
	// ConsumerFaxrcvd runs faxrcvd for recorded receptions.
	ConsumerFaxrcvd = "faxrcvd"
)

// DoneSuffix makes the ID of a reception's recv.done from that of its
// recv.start, so that a reception is never recorded twice.
const DoneSuffix = ".done"

// Consumers are the journal consumers of receptions, for journal.Open.
var Consumers = map[string][]string{
	ConsumerRecv:    {KindRecvStart},
	ConsumerFaxrcvd: {KindRecvDone},
}

// Reception says who a reception is; it is the payload of KindRecvStart
// and part of KindRecvDone.
type Reception struct {
	Host         string    `json:"host,omitempty"`
	UUID         string    `json:"uuid"`
	CommID       string    `json:"commid"`
	File         string    `json:"file"` // spool-relative recvq/fax%09u.tif
	Modem        string    `json:"modem"`
	WithoutModem bool      `json:"without_modem,omitempty"`
	Start        time.Time `json:"start"`
	CallerNumber string    `json:"caller_number,omitempty"`
	CallerName   string    `json:"caller_name,omitempty"`
	Recipient    string    `json:"recipient"`
	Gateway      string    `json:"gateway,omitempty"`
	// FileMode is the received file's final mode (recvfilemode or
	// DynamicConfig's RecvFileMode).
	FileMode uint32 `json:"file_mode"`
	// FaxRcvdCmd is DynamicConfig's FaxRcvdCmd, "" for the configured one.
	FaxRcvdCmd string `json:"faxrcvd_cmd,omitempty"`
	// The call's route when tenants are on (Handler.Router): the fax id
	// chosen at the call's start, the called number as E.164 (as found
	// when it is none), and the number's tenant ("" for a number no
	// tenant has).
	FaxID        string `json:"fax_id,omitempty"`
	CalledNumber string `json:"called_number,omitempty"`
	TenantID     string `json:"tenant_id,omitempty"`
	TenantName   string `json:"tenant_name,omitempty"`
	NumberID     string `json:"number_id,omitempty"`
}

// Received is a recorded reception, the payload of KindRecvDone.
type Received struct {
	Reception
	End          time.Time `json:"end"`
	Hangup       time.Time `json:"hangup,omitzero"` // when the call's hangup completed, if known
	Pages        int       `json:"pages"`
	Reason       string    `json:"reason,omitempty"` // "" when every page arrived
	Class        string    `json:"class"`
	RemoteID     string    `json:"remote_id,omitempty"`
	HangupCause  string    `json:"hangup_cause,omitempty"`
	TransferRate int       `json:"transfer_rate,omitempty"`
	ECM          bool      `json:"ecm,omitempty"`
	T38          string    `json:"t38,omitempty"`
	// Answered is when the call was answered (zero if unknown); TotalPages
	// the pages the sender announced; ResultCode and ResultText spandsp's
	// T.30 result (ResultText "" when there was none).
	Answered   time.Time        `json:"answered,omitzero"`
	TotalPages int              `json:"total_pages,omitempty"`
	ResultCode gofaxlib.T30Code `json:"result_code,omitempty"`
	ResultText string           `json:"result_text,omitempty"`
	// Faxrcvd is true when faxrcvd is to run: the file is kept with at
	// least one page.
	Faxrcvd bool `json:"faxrcvd"`
	// Recovered is true for a reception recorded after its call was lost
	// (by the Recovery).
	Recovered bool `json:"recovered,omitempty"`
}

// Journal is what receptions need of the journal (*journal.Journal).
type Journal interface {
	Write(recs ...journal.Record) error
	Append(ctx context.Context, recs ...journal.Record) error
	Pending(consumer string) []journal.Record
	Has(id string) bool
	Ack(consumer string, ids ...string) error
}

// Queue runs faxrcvd for recv.done records (the faxrcvd queue).
type Queue interface {
	Enqueue(journal.Record)
}

// hostname is recorded with each reception: several hosts may share a
// database later.
var hostname = sync.OnceValue(func() string {
	h, _ := os.Hostname()
	return h
})

// active is the set of recv.start records whose call is still running
// in this process: the Recovery leaves them alone.
type active struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (a *active) add(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ids == nil {
		a.ids = map[string]bool{}
	}
	a.ids[id] = true
}

func (a *active) remove(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.ids, id)
}

func (a *active) has(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ids[id]
}

// started writes the reception's recv.start record. It is written
// without waiting for its fsync: it survives gofaxd being killed at
// once, and a power loss from the next fsync on (the next recorded
// reception, or the journal's SyncInterval) — long before the first page
// has arrived. It returns the record's ID, "" without a journal.
func (h *Handler) started(r Reception) string {
	if h.Journal == nil {
		return ""
	}
	rec, err := journal.NewRecord(KindRecvStart, r)
	if err != nil {
		h.logger().Error("reception not journaled", "err", err, "commid", r.CommID)
		return ""
	}
	// Marked active first: the Recovery must never take a running call.
	h.active.add(rec.ID)
	if err := h.Journal.Write(rec); err != nil {
		h.active.remove(rec.ID)
		h.logger().Error("reception not journaled: a crash now would leave it unfinished", "err", err, "commid", r.CommID)
		return ""
	}
	return rec.ID
}

// commit makes a recorded reception durable and returns its recv.done
// record for the faxrcvd queue: the received file (nil when there is
// none), its directory entry and the RECV record (nil for none) are
// fsynced, then the recv.done record and the acknowledgement of its
// recv.start are written in one durable append (see durable.go:
// concurrent receptions share the fsyncs). The recv.start stops being
// active here only once that succeeded: else the Recovery of this run
// leaves it alone (the next start finishes it).
func (h *Handler) commit(ctx context.Context, startID string, r Received, file *hylafax.RecvFile, xfer *hylafax.XferRecord) journal.Record {
	it := &commitItem{file: file, xfer: xfer, commid: r.CommID}
	done, err := journal.NewRecord(KindRecvDone, r)
	if err != nil {
		h.logger().Error("reception record", "err", err, "commid", r.CommID)
	} else if h.Journal != nil {
		if startID != "" {
			done.ID = startID + DoneSuffix
		}
		it.recs = []journal.Record{done}
		if startID != "" {
			if ack, err := journal.NewAck(ConsumerRecv, startID); err == nil {
				it.recs = append(it.recs, ack)
			}
		}
	}
	h.durably(ctx, it)
	if h.Journal == nil || len(it.recs) == 0 {
		return done
	}
	if it.journalErr != nil {
		h.logger().Error("reception not journaled: faxrcvd runs now, but not again after a crash", "err", it.journalErr, "commid", r.CommID)
		if startID != "" {
			h.active.add(startID) // not to be recorded again in this run
		}
		return done
	}
	h.active.remove(startID)
	return done
}

// enqueue hands a recorded reception to faxrcvd: to the queue, or,
// without one, it runs faxrcvd at once.
func (h *Handler) enqueue(ctx context.Context, done journal.Record, r Received) {
	if !r.Faxrcvd {
		if h.Journal != nil {
			h.Journal.Ack(ConsumerFaxrcvd, done.ID)
		}
		return
	}
	if h.Faxrcvd != nil {
		h.Faxrcvd.Enqueue(done)
		return
	}
	h.RunFaxrcvd(ctx, done)
}
