package modem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gofaxserver/gofaxserver/gofaxlib/hylafax"
)

// openFIFO creates FIFO.<modem> (mode 0600, as faxgetty) when missing and
// opens it for reading.
func openFIFO(path string) (*hylafax.FIFOReader, error) {
	if err := hylafax.MakeFIFO(path, 0o600); err != nil {
		return nil, fmt.Errorf("modem: %w", err)
	}
	r, err := hylafax.OpenFIFO(path)
	if err != nil {
		return nil, fmt.Errorf("modem: %w", err)
	}
	return r, nil
}

// readFIFO applies the commands written to one modem's FIFO until Close
// closes the FIFO under the read (os.ErrClosed).
func (p *Pool) readFIFO(m *modem, r *hylafax.FIFOReader) {
	defer p.readers.Done()
	for {
		rec, err := r.Read(context.Background())
		switch {
		case errors.Is(err, os.ErrClosed) || errors.Is(err, io.EOF):
			p.ended(fmt.Errorf("modem: FIFO.%s is no longer read: %w", m.name, err))
			return
		case errors.Is(err, hylafax.ErrFIFOMessage):
			p.log.Warn("bad modem FIFO record", "modem", m.name, "err", err)
			continue
		case err != nil:
			p.log.Error("modem FIFO read failed", "modem", m.name, "err", err)
			p.ended(fmt.Errorf("modem: FIFO.%s is no longer read: %w", m.name, err))
			return
		}
		cmd, err := hylafax.ParseModemMessage(rec)
		if err != nil {
			p.log.Warn("bad modem FIFO record", "modem", m.name, "err", err)
			continue
		}
		if cmd.Kind == hylafax.GettyJobResult {
			p.jobResult(m, cmd)
			continue
		}
		p.command(m, cmd)
	}
}

// Sender delivers one message to faxq. It must return when ctx ends,
// whether or not faxq read the message.
type Sender interface {
	Send(context.Context, hylafax.Message) error
}

// FIFOSender writes messages to faxq's FIFO at this path.
type FIFOSender string

// Send writes m to the FIFO, retrying while nobody reads it until ctx
// ends.
func (s FIFOSender) Send(ctx context.Context, m hylafax.Message) error {
	return hylafax.WriteFIFO(ctx, string(s), m)
}
