package hylafax

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Document item operations of a qfile ("op:dirnum:addr:path" lines). OpFax
// is a prepared TIFF/F document, ready to transmit; OpTIFF to OpData are
// documents faxq has still to prepare, and with SavedPrefix ("!tiff") the
// kept source of a prepared one; OpPoll is a polling request, OpPage a
// pager message.
const (
	OpFax        = "fax"
	OpTIFF       = "tiff"
	OpPDF        = "pdf"
	OpPostScript = "postscript"
	OpPCL        = "pcl"
	OpData       = "data"
	OpPoll       = "poll"
	OpPage       = "page"
	OpUUCP       = "uucp"
	SavedPrefix  = "!"
)

var itemOps = map[string]bool{
	OpFax: true, OpTIFF: true, SavedPrefix + OpTIFF: true, OpPDF: true, SavedPrefix + OpPDF: true,
	OpPostScript: true, SavedPrefix + OpPostScript: true, OpPCL: true, SavedPrefix + OpPCL: true,
	OpData: true, SavedPrefix + OpData: true, OpPoll: true, OpPage: true, SavedPrefix + OpPage: true,
	OpUUCP: true,
}

// ErrBadItem is returned by SetItems for an item that cannot be written.
var ErrBadItem = errors.New("hylafax: invalid qfile item")

// IsItemOp reports whether tag names a document item ("fax", "!tiff", ...).
func IsItemOp(tag string) bool { return itemOps[tag] }

// Item is a document, polling or pager request of a qfile. DirNum is the
// TIFF directory (page, counting from 0) to start with, Addr the
// subaddress or polling selector, and Path the file relative to the spool.
type Item struct {
	Op     string
	DirNum int
	Addr   string
	Path   string
}

// String formats the item as a qfile line without the newline.
func (it Item) String() string {
	return it.Op + ":" + strconv.Itoa(it.DirNum) + ":" + it.Addr + ":" + it.Path
}

// parseItem splits an item value as faxq's addItem does: a dirnum up to the
// first colon (0 when there is none), an address up to the second, and the
// rest, which may itself contain colons, is the path.
func parseItem(op, value string) Item {
	it := Item{Op: op}
	rest := value
	if i := strings.IndexByte(value, ':'); i >= 0 {
		it.DirNum = atoi(value)
		rest = value[i+1:]
	}
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		it.Addr, it.Path = rest[:i], rest[i+1:]
	} else {
		it.Path = rest
	}
	return it
}

func (it Item) check() error {
	switch {
	case !IsItemOp(it.Op):
		return fmt.Errorf("%w: unknown operation %q", ErrBadItem, it.Op)
	case it.DirNum < 0:
		return fmt.Errorf("%w: negative directory %d", ErrBadItem, it.DirNum)
	case strings.ContainsAny(it.Addr, ":\r\n"):
		return fmt.Errorf("%w: address %q", ErrBadItem, it.Addr)
	case it.Path == "" || strings.ContainsAny(it.Path, "\r\n"):
		return fmt.Errorf("%w: path %q", ErrBadItem, it.Path)
	}
	return nil
}

// Items returns the document items in file order.
func (q *Qfile) Items() []Item {
	var items []Item
	for _, l := range q.lines {
		if !l.bad && IsItemOp(l.Tag) {
			items = append(items, parseItem(l.Tag, l.Value))
		}
	}
	return items
}

// FaxItems returns the items ready for transmission (op "fax"), in order.
func (q *Qfile) FaxItems() []Item {
	var items []Item
	for _, it := range q.Items() {
		if it.Op == OpFax {
			items = append(items, it)
		}
	}
	return items
}

// SetItems replaces all document items by items, at the place of the first
// old item (at the end when there was none). Items equal to the old one at
// the same position keep their original bytes. An invalid item is an error
// and changes nothing.
func (q *Qfile) SetItems(items []Item) error {
	for _, it := range items {
		if err := it.check(); err != nil {
			return err
		}
	}
	var old []qline
	kept := make([]qline, 0, len(q.lines)+len(items))
	at := -1
	for _, l := range q.lines {
		if !l.bad && IsItemOp(l.Tag) {
			if at < 0 {
				at = len(kept)
			}
			old = append(old, l)
			continue
		}
		kept = append(kept, l)
	}
	if at < 0 {
		at = len(kept)
	}
	fresh := make([]qline, len(items))
	for i, it := range items {
		if i < len(old) && parseItem(old[i].Tag, old[i].Value) == it {
			fresh[i] = old[i]
			continue
		}
		fresh[i] = qline{Field: Field{Tag: it.Op, Value: strings.TrimPrefix(it.String(), it.Op+":")}}
	}
	q.lines = append(kept[:at], append(fresh, kept[at:]...)...)
	return nil
}

// AdvanceFax records that sent pages of the fax items went through, in
// order, as faxsend does after a partial transmission: each fully sent fax
// item is removed and the first partly sent one starts sent pages later.
// pages reports the number of pages (TIFF directories) of an item's file.
// AdvanceFax returns the removed items; the caller should tell faxq about
// each with a "*<jobid>:D" FIFO message so it can release the document.
// Other items, such as the "!tiff" sources, are left alone. On an error
// from pages nothing is changed.
func (q *Qfile) AdvanceFax(sent int, pages func(Item) (int, error)) (removed []Item, err error) {
	var out []Item
	for _, it := range q.Items() {
		if it.Op != OpFax || sent <= 0 {
			out = append(out, it)
			continue
		}
		n, err := pages(it)
		if err != nil {
			return nil, fmt.Errorf("hylafax: pages of %s: %w", it.Path, err)
		}
		if left := n - it.DirNum; sent >= left {
			sent -= max(left, 0)
			removed = append(removed, it)
			continue
		}
		it.DirNum += sent
		sent = 0
		out = append(out, it)
	}
	if err := q.SetItems(out); err != nil {
		return nil, err
	}
	return removed, nil
}
