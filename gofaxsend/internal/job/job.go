// Package job runs one exec of gofaxsend: the jobs (qfiles) faxq handed
// over, each sent in its own call, in order. For every job it locks the
// qfile, works out the call (DynamicConfig, JobControl, per-job fields,
// mod_db overrides and softmodem fallback, retry degradation), follows the
// call, and writes back what HylaFAX's faxsend writes: counters, pages,
// remaining documents, session parameters, the result, the xferfaxlog
// record and the session log. Every qfile gets status, statuscode and
// returned, whatever happens.
package job

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/outcome"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/record"
)

// Waits on the spool. A qfile is locked by faxq only for a moment while
// it writes; longer means another sender holds it and this attempt must
// not go ahead. FIFO records (to faxq, and to gofaxd on FIFO.<modem>) are
// written in the background, each given [hylafax] fifotimeout; a reader
// that misses one is taken to be gone and gets no more from this exec.
const (
	qfileLockWait = 30 * time.Second
	// fifoQueue bounds the records waiting for one FIFO: a few per page
	// of every job of a batch.
	fifoQueue = 1024
)

// Env is what a batch needs from its surroundings.
type Env struct {
	Config   *config.Config
	Modem    string            // -m: the virtual modem faxq chose
	Controls map[string]string // JobControl "-c tag:value" pairs, tags lower case
	Log      *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Batch sends the jobs of qfiles in order and returns the result of the
// first, which becomes the exit status (faxq reads the others' returned:
// from their qfiles). gofaxd is told the modem is busy for the duration.
func Batch(ctx context.Context, env Env, qfiles []string) outcome.Status {
	if env.Now == nil {
		env.Now = time.Now
	}
	b := &batch{Env: env, spool: env.Config.HylaFAX.SpoolDir}
	b.conf = loadFaxsendConf(b.spool, env.Modem, env.Controls)
	if env.Config.Database.Enabled {
		// The tenant data as gofaxd last wrote it, read once for the
		// batch; and the journal that takes each attempt to gofaxd.
		b.routing, b.routingErr = record.LoadRouting(b.path(record.RoutingFile))
		if b.routingErr != nil {
			b.Log.Error("cannot read the routing snapshot: jobs are retried", "err", b.routingErr)
		}
		b.rec = record.NewRecorder(b.spool, "gofaxsend")
		b.host = record.Host(env.Config)
		defer func() {
			if err := b.rec.Close(); err != nil {
				b.Log.Error("spool journal", "err", err)
			}
		}()
	}
	// gofaxd owns the modem when its FIFO exists: it learns that the
	// modem is busy (SB), each job's result and that it is free (SR).
	b.toFaxq = b.startFIFO(hylafax.FaxqFIFO)
	b.toModem = b.startFIFO(hylafax.ModemFIFO(b.Modem))
	defer b.fifoWG.Wait()
	defer b.stopFIFOs()
	b.notifyModem(hylafax.Message{Kind: hylafax.GettyState, Arg: "B"})
	defer b.notifyModem(hylafax.Message{Kind: hylafax.GettyState, Arg: "R"})
	defer b.closeConn()

	first := outcome.Retry
	var skip *outcome.Result
	for i, qf := range qfiles {
		var res outcome.Result
		switch {
		case skip != nil:
			res = *skip
			b.mark(ctx, qf, res)
		case ctx.Err() != nil:
			res = outcome.Result{Status: outcome.NotTried, Code: outcome.CodeInterrupted, Text: "Not tried: gofaxsend was interrupted"}
			b.mark(ctx, qf, res)
		default:
			var stop bool
			res, stop = b.send(ctx, qf)
			if stop && i+1 < len(qfiles) {
				// The destination or FreeSWITCH cannot be reached:
				// the other jobs to it wait for their own retry.
				skip = &outcome.Result{Status: outcome.Retry, Code: res.Code, Text: res.Text}
			}
		}
		if i == 0 {
			first = res.Status
		}
	}
	return first
}

// batch is the state shared by the jobs of one exec.
type batch struct {
	Env
	spool string
	conf  faxsendConf // retry delays, UseJobTSI

	// With [database]: the routing snapshot (or why it could not be
	// read), the journal for the attempts and this host's name.
	routing    *gofaxlib.Routing
	routingErr error
	rec        *record.Recorder
	host       string

	connMu     sync.Mutex
	conn       *esl.Conn
	subscribed *esl.Conn // the connection subscribed to call events

	toFaxq  chan hylafax.Message // progress records for faxq, in order; nil without its FIFO
	toModem chan hylafax.Message // records for gofaxd; nil without FIFO.<modem>
	fifoWG  sync.WaitGroup       // the writers of toFaxq and toModem
}

// path resolves a spool-relative path.
func (b *batch) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(b.spool, p)
}

// notifyFaxq queues a job progress record for faxq's FIFO. The call never
// waits for faxq: the records are written in order by the batch's writer.
func (b *batch) notifyFaxq(_ context.Context, kind hylafax.Kind, jobid, arg string) {
	b.queue(b.toFaxq, hylafax.Message{Kind: kind, ID: jobid, Arg: arg})
}

// notifyModem queues a record for gofaxd, if it owns the modem, without
// waiting for it.
func (b *batch) notifyModem(m hylafax.Message) { b.queue(b.toModem, m) }

// queue adds m to the queue q of a FIFO; nil q (no FIFO) drops it.
func (b *batch) queue(q chan hylafax.Message, m hylafax.Message) {
	if q == nil {
		return
	}
	select {
	case q <- m:
	default:
		b.Log.Warn("FIFO queue full, record dropped", "record", m.Kind.String(), "id", m.ID)
	}
}

// stopFIFOs closes the FIFO queues; their writers end once the records
// still queued are written or given up.
func (b *batch) stopFIFOs() {
	for _, q := range []chan hylafax.Message{b.toFaxq, b.toModem} {
		if q != nil {
			close(q)
		}
	}
}

// startFIFO returns the queue of the spool FIFO name, or nil when there is
// no such FIFO: nobody ever reads it. The queue is written in order by a
// writer that ends when the queue is closed (fifoWG waits for it). Each
// record may take [hylafax] fifotimeout; once one could not be written
// the reader is taken to be gone and the rest is dropped rather than
// delaying the end of gofaxsend.
func (b *batch) startFIFO(name string) chan hylafax.Message {
	if _, err := os.Stat(b.path(name)); err != nil {
		b.Log.Debug("no FIFO, records for it are dropped", "fifo", name, "err", err)
		return nil
	}
	q := make(chan hylafax.Message, fifoQueue)
	path, wait := b.path(name), b.Config.HylaFAX.FIFOTimeout
	b.fifoWG.Add(1)
	go func() {
		defer b.fifoWG.Done()
		dead := false
		for m := range q {
			if dead {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			err := hylafax.WriteFIFO(ctx, path, m)
			cancel()
			if err != nil {
				b.Log.Warn("FIFO record not delivered", "fifo", name, "record", m.Kind.String(), "id", m.ID, "err", err)
				dead = errors.Is(err, hylafax.ErrNoReader)
			}
		}
	}()
	return q
}

// connection returns the batch's event socket, dialling it the first time.
func (b *batch) connection(ctx context.Context) (*esl.Conn, error) {
	b.connMu.Lock()
	defer b.connMu.Unlock()
	if b.conn != nil && b.conn.Err() == nil {
		return b.conn, nil
	}
	if b.conn != nil {
		b.conn.Close()
		b.conn = nil
	}
	cctx, cancel := context.WithTimeout(ctx, b.Config.FreeSWITCH.Timeout)
	defer cancel()
	c, err := esl.Dial(cctx, b.Config.FreeSWITCH.Socket, b.Config.FreeSWITCH.Password, esl.WithLogger(b.Log), esl.WithWriteTimeout(b.Config.FreeSWITCH.Timeout))
	if err != nil {
		return nil, err
	}
	b.conn = c
	return c, nil
}

func (b *batch) closeConn() {
	b.connMu.Lock()
	defer b.connMu.Unlock()
	if b.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.Config.FreeSWITCH.Timeout)
	defer cancel()
	b.conn.Exit(ctx)
	b.conn = nil
}

// mark writes res into a qfile that is not sent in this exec.
func (b *batch) mark(ctx context.Context, qf string, res outcome.Result) {
	if err := Mark(ctx, b.path(qf), res); err != nil {
		b.Log.Error("cannot record job result", "qfile", qf, "err", err)
	}
}

// Mark locks the qfile at path, writes res into it and saves it. It is
// how early errors (bad command line, unreadable configuration) still
// reach faxq.
func Mark(ctx context.Context, path string, res outcome.Result) error {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), qfileLockWait)
	defer cancel()
	q, err := hylafax.OpenQfile(lctx, path)
	if err != nil {
		return err
	}
	defer q.Close()
	setResult(q, res)
	return q.Save()
}

// setResult stores the three fields faxq acts on.
func setResult(q *hylafax.Qfile, res outcome.Result) {
	q.Set("status", res.Text)
	q.SetInt("statuscode", res.Code)
	q.SetInt("returned", int(res.Status))
}
