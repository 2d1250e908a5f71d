package receive

import (
	"context"
	"os"
	"path/filepath"
	"sync"

	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
	"github.com/gofaxserver/gofaxserver/gofaxlib/journal"
)

// A reception is durable before its faxrcvd may start: what a power loss
// could otherwise take from a fax whose faxrcvd ran. In order:
//
//  1. the received file: spandsp's data, the new tags and the final mode
//     (fsync), then the header switching to the tags (fdatasync), so
//     that the file is valid whatever a power loss keeps of it
//     (hylafax.CommitRecvFiles); its lock is released then;
//  2. its name: recvq's directory entries (new files, files removed for
//     want of pages), and the sequence files recvq/seqf and log/seqf, so
//     that the numbers of a kept fax are never handed out again;
//     with a hylafax.FileSystemSyncer (syncfs) 1 and 2 are two syncfs of
//     the spool's file system for the whole round, the second after the
//     headers were switched (hylafax.CommitRecvFilesFS);
//  3. the RECV record of xferfaxlog (fsynced: it may be elsewhere);
//  4. the recv.done record in the journal, with the acknowledgement of
//     the reception's recv.start (the journal's own group commit).
//
// Receptions that finish while a round runs go together in the next
// round (group commit): a burst of 4,000 receptions ending at once costs
// a few dozen rounds, not 4,000 fsyncs of each file. The session log
// and the status files are not fsynced.

// commitItem is one reception waiting to be made durable.
type commitItem struct {
	file   *hylafax.RecvFile   // tagged and locked; nil when none is kept
	xfer   *hylafax.XferRecord // nil for none
	recs   []journal.Record    // recv.done and the ack of recv.start
	commid string

	journalErr error
	done       chan struct{}
}

// committer gathers receptions into rounds. One goroutine runs the
// rounds while receptions wait; it ends when none does.
type committer struct {
	mu      sync.Mutex
	queue   []*commitItem
	running bool
}

// sequences are the sequence files receptions take numbers from.
type sequences struct {
	once      sync.Once
	log, recv *hylafax.Sequence
}

// seqs returns the Handler's sequences of log/seqf and recvq/seqf.
func (h *Handler) seqs() *sequences {
	h.seq.once.Do(func() {
		h.seq.log = hylafax.NewSequence(filepath.Join(h.Spool, hylafax.LogSeqFile))
		h.seq.recv = hylafax.NewSequence(filepath.Join(h.Spool, hylafax.RecvSeqFile))
	})
	return &h.seq
}

func (h *Handler) syncer() hylafax.Syncer {
	if h.Syncer != nil {
		return h.Syncer
	}
	return hylafax.OSSyncer{}
}

// durably makes it durable with the receptions finishing at the same
// time, and returns once it is.
func (h *Handler) durably(ctx context.Context, it *commitItem) {
	it.done = make(chan struct{})
	c := &h.commits
	c.mu.Lock()
	c.queue = append(c.queue, it)
	start := !c.running
	c.running = true
	c.mu.Unlock()
	if start {
		go h.commitRounds(context.WithoutCancel(ctx))
	}
	<-it.done
}

// commitRounds runs rounds until nobody waits.
func (h *Handler) commitRounds(ctx context.Context) {
	c := &h.commits
	for {
		c.mu.Lock()
		batch := c.queue
		c.queue = nil
		if len(batch) == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		h.commitRound(ctx, batch)
		for _, it := range batch {
			close(it.done)
		}
	}
}

// commitRound makes one batch of receptions durable (see above).
func (h *Handler) commitRound(ctx context.Context, batch []*commitItem) {
	s := h.syncer()
	log := h.logger()
	var files []*hylafax.RecvFile
	var owners []*commitItem
	var xfer []hylafax.XferRecord
	for _, it := range batch {
		if it.file != nil {
			files = append(files, it.file)
			owners = append(owners, it)
		}
		if it.xfer != nil {
			xfer = append(xfer, *it.xfer)
		}
	}
	var errs []error
	if fsys, ok := s.(hylafax.FileSystemSyncer); ok {
		var fsErr error
		if errs, fsErr = hylafax.CommitRecvFilesFS(fsys, files); fsErr != nil {
			log.Error("spool file system not durable: syncing file by file", "err", fsErr)
			h.syncNames(s)
		}
	} else {
		errs = hylafax.CommitRecvFiles(s, files)
		h.syncNames(s)
	}
	h.appendXfer(ctx, xfer, s)
	for i, err := range errs {
		if err != nil && err != hylafax.ErrRecvFileDone {
			log.Error("received file not durable", "err", err, "commid", owners[i].commid, "file", files[i].Name)
		}
	}
	if h.Journal == nil {
		return
	}
	var recs []journal.Record
	for _, it := range batch {
		recs = append(recs, it.recs...)
	}
	if len(recs) == 0 {
		return
	}
	actx, cancel := context.WithTimeout(ctx, recordWait)
	err := h.Journal.Append(actx, recs...)
	cancel()
	for _, it := range batch {
		if len(it.recs) > 0 {
			it.journalErr = err
		}
	}
}

// syncNames fsyncs what names a reception: recvq's directory and the
// sequence files.
func (h *Handler) syncNames(s hylafax.Syncer) {
	log := h.logger()
	if err := hylafax.SyncDir(s, filepath.Join(h.Spool, "recvq")); err != nil {
		log.Error("recvq not durable", "err", err)
	}
	seq := h.seqs()
	sync := func(f *os.File) error { return s.Sync(f) }
	for _, q := range []*hylafax.Sequence{seq.recv, seq.log} {
		if err := q.Sync(sync); err != nil {
			log.Error("sequence file not durable", "err", err)
		}
	}
}

// appendXfer appends a round's RECV records to xferfaxlog and fsyncs it
// (it may be on another file system than the spool). A local record:
// written even when gofaxd is out of time.
func (h *Handler) appendXfer(ctx context.Context, recs []hylafax.XferRecord, s hylafax.Syncer) {
	if h.XferFaxLog == "" || len(recs) == 0 {
		return
	}
	lctx, cancel := context.WithTimeout(ctx, recordWait)
	defer cancel()
	if err := hylafax.AppendXferRecords(lctx, h.XferFaxLog, recs, s); err != nil {
		h.logger().Error("cannot write xferfaxlog", "err", err, "records", len(recs))
	}
}
