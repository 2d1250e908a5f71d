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

	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/outcome"
)

// Waits on the spool. A qfile is locked by faxq only for a moment while
// it writes; longer means another sender holds it and this attempt must
// not go ahead. FIFO messages to faxq are progress only: a faxq that does
// not read within fifoWait loses them, and gofaxd's modem FIFO gets less,
// since gofaxd may simply not run.
const (
	qfileLockWait = 30 * time.Second
	fifoWait      = time.Second
	modemFIFOWait = 200 * time.Millisecond
	// faxqQueue bounds the progress records waiting for faxq: a few per
	// page of every job of a batch.
	faxqQueue = 1024
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
	b := &batch{Env: env, spool: env.Config.HylaFAX.SpoolDir, toFaxq: make(chan hylafax.Message, faxqQueue)}
	b.requeue = loadRequeue(b.spool, env.Modem)
	b.faxqWG.Add(1)
	go b.writeFaxq()
	defer b.faxqWG.Wait()
	defer close(b.toFaxq)
	b.modemState(ctx, "B")
	defer b.modemState(context.WithoutCancel(ctx), "R")
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
	spool   string
	requeue requeue // retry delays

	connMu     sync.Mutex
	conn       *esl.Conn
	subscribed *esl.Conn // the connection call.Prepare ran on

	modemWG sync.WaitGroup // the SB message still on its way

	toFaxq chan hylafax.Message // progress records for faxq, in order
	faxqWG sync.WaitGroup       // the writer of toFaxq
}

// path resolves a spool-relative path.
func (b *batch) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(b.spool, p)
}

// modemState tells gofaxd about the modem ("SB" busy, "SR" ready) without
// blocking: the message is written in the background and given up after
// modemFIFOWait when nobody reads FIFO.<modem>. "R" waits for "B" first so
// they cannot overtake each other.
func (b *batch) modemState(ctx context.Context, state string) {
	path := b.path(hylafax.ModemFIFO(b.Modem))
	if _, err := os.Stat(path); err != nil {
		return // no gofaxd for this modem
	}
	send := func() {
		wctx, cancel := context.WithTimeout(ctx, modemFIFOWait)
		defer cancel()
		err := hylafax.WriteFIFO(wctx, path, hylafax.Message{Kind: hylafax.GettyState, Arg: state})
		if err != nil {
			b.Log.Debug("modem state not delivered", "modem", b.Modem, "state", state, "err", err)
		}
	}
	if state == "B" {
		b.modemWG.Add(1)
		go func() {
			defer b.modemWG.Done()
			send()
		}()
		return
	}
	b.modemWG.Wait()
	send()
}

// notifyFaxq queues a job progress record for faxq's FIFO. The call never
// waits for faxq: the records are written in order by the batch's writer.
func (b *batch) notifyFaxq(_ context.Context, kind hylafax.Kind, jobid, arg string) {
	select {
	case b.toFaxq <- hylafax.Message{Kind: kind, ID: jobid, Arg: arg}:
	default:
		b.Log.Warn("faxq FIFO queue full, progress record dropped", "job_id", jobid)
	}
}

// writeFaxq writes the queued records until the queue is closed. Once faxq
// did not take one within fifoWait, it is taken not to read and the rest
// is dropped rather than delaying the end of gofaxsend.
func (b *batch) writeFaxq() {
	defer b.faxqWG.Done()
	path := b.path(hylafax.FaxqFIFO)
	dead := false
	for m := range b.toFaxq {
		if dead {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), fifoWait)
		err := hylafax.WriteFIFO(ctx, path, m)
		cancel()
		if err != nil {
			b.Log.Warn("faxq not told", "job_id", m.ID, "err", err)
			dead = errors.Is(err, hylafax.ErrNoReader)
		}
	}
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
	c, err := esl.Dial(cctx, b.Config.FreeSWITCH.Socket, b.Config.FreeSWITCH.Password, esl.WithLogger(b.Log))
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
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
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
