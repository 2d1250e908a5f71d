package journal

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// MaxRecordSize bounds one record's line, with its prefix and newline: a
// reception record is about 1 KiB, a batch of acknowledgements is cut to
// fit, and a reader never buffers more than this for one line.
const MaxRecordSize = 64 << 10

// Bounds of the names in a record.
const (
	maxIDLen   = 128 // record IDs: room for a host name and a job id
	maxKindLen = 64  // kinds and consumer names
)

// linePrefix starts every record line; it names the format version.
const linePrefix = "J1 "

// headerLen is the prefix, the eight hex digits of the CRC and a blank.
const headerLen = len(linePrefix) + 8 + 1

// AckKind is the kind of acknowledgement records. Kinds starting with
// "journal." are reserved for the journal itself.
const AckKind = "journal.ack"

const reservedPrefix = "journal."

// Errors, test with errors.Is.
var (
	// ErrRecord reports a record that cannot be written (bad ID, kind or
	// payload, or too large) or a line that is not a valid record.
	ErrRecord = errors.New("journal: invalid record")
	// ErrChecksum reports a line whose CRC does not match its content.
	ErrChecksum = errors.New("journal: checksum mismatch")
)

// Record is one journal entry.
type Record struct {
	// ID is unique and stable: consumers acknowledge and ingest by it.
	// 1 to 128 characters of A-Z a-z 0-9 . _ : -; NewID makes one.
	ID string `json:"id"`
	// Kind says what the payload is, e.g. "recv.start": 1 to 64
	// characters of a-z 0-9 . _ -, starting with a letter or digit.
	Kind string `json:"kind"`
	// Time is when the record was made (UTC).
	Time time.Time `json:"time"`
	// Data is the payload, one JSON value.
	Data json.RawMessage `json:"data"`
}

// NewRecord returns a record of kind with a new ID, the current time and
// v marshalled as its payload.
func NewRecord(kind string, v any) (Record, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return Record{}, fmt.Errorf("%w: %s payload: %v", ErrRecord, kind, err)
	}
	r := Record{ID: NewID(), Kind: kind, Time: time.Now().UTC(), Data: data}
	return r, r.checkNames() // json.Marshal made one JSON value
}

// Decode unmarshals the payload into v.
func (r Record) Decode(v any) error {
	if err := json.Unmarshal(r.Data, v); err != nil {
		return fmt.Errorf("%w: %s %s payload: %v", ErrRecord, r.Kind, r.ID, err)
	}
	return nil
}

// NewID returns a new record ID: 32 lower-case hex digits, the first 12
// the current Unix time in milliseconds (so IDs sort roughly by time),
// the rest 80 random bits.
func NewID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	rand.Read(b[6:])
	return hex.EncodeToString(b[:])
}

func validName(s string, max int, lowerOnly bool) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '.' || c == '_' || c == '-':
			if lowerOnly && i == 0 {
				return false
			}
		case c == ':' && !lowerOnly:
		case c >= 'A' && c <= 'Z' && !lowerOnly:
		default:
			return false
		}
	}
	return true
}

// ValidKind reports whether s may be used as a kind or consumer name.
func ValidKind(s string) bool { return validName(s, maxKindLen, true) }

// checkNames checks the ID and the kind.
func (r Record) checkNames() error {
	switch {
	case !validName(r.ID, maxIDLen, false):
		return fmt.Errorf("%w: id %q", ErrRecord, r.ID)
	case !ValidKind(r.Kind):
		return fmt.Errorf("%w: kind %q", ErrRecord, r.Kind)
	}
	return nil
}

func (r Record) errPayload() error {
	return fmt.Errorf("%w: %s %s: payload is not one JSON value", ErrRecord, r.Kind, r.ID)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Encode returns r as one journal line, with its newline: the JSON
// object {"id","kind","time","data"} with the payload compacted. It is
// written out here rather than marshalled: IDs and kinds need no
// escaping (see validName), and compacting checks the payload too.
// Unlike json.Marshal it leaves <, > and & in the payload's strings
// unescaped; both decode the same.
func (r Record) Encode() ([]byte, error) {
	if err := r.checkNames(); err != nil {
		return nil, err
	}
	if len(r.Data) == 0 {
		return nil, r.errPayload()
	}
	when, err := r.Time.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %v", ErrRecord, r.Kind, r.ID, err)
	}
	line := make([]byte, headerLen, headerLen+len(r.ID)+len(r.Kind)+len(when)+len(r.Data)+40)
	line = append(line, `{"id":"`...)
	line = append(line, r.ID...)
	line = append(line, `","kind":"`...)
	line = append(line, r.Kind...)
	line = append(line, `","time":`...)
	line = append(line, when...)
	line = append(line, `,"data":`...)
	buf := bytes.NewBuffer(line)
	if err := json.Compact(buf, r.Data); err != nil {
		return nil, r.errPayload()
	}
	line = append(buf.Bytes(), '}')
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc32.Checksum(line[headerLen:], castagnoli))
	copy(line, linePrefix)
	hex.Encode(line[len(linePrefix):], sum[:])
	line[headerLen-1] = ' '
	line = append(line, '\n')
	if len(line) > MaxRecordSize {
		return nil, fmt.Errorf("%w: %s %s: %d bytes, more than %d", ErrRecord, r.Kind, r.ID, len(line), MaxRecordSize)
	}
	return line, nil
}

// envelope is the JSON object of a line; unknown fields written by a
// later version are ignored.
type envelope struct {
	ID   string          `json:"id"`
	Kind string          `json:"kind"`
	Time time.Time       `json:"time"`
	Data json.RawMessage `json:"data"`
}

// Decode parses one journal line, with or without its newline. It
// checks the prefix, the CRC and the record's fields.
func Decode(line []byte) (Record, error) {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	if len(line)+1 > MaxRecordSize {
		return Record{}, fmt.Errorf("%w: line of %d bytes, more than %d", ErrRecord, len(line)+1, MaxRecordSize)
	}
	if len(line) < headerLen || string(line[:len(linePrefix)]) != linePrefix || line[headerLen-1] != ' ' {
		return Record{}, fmt.Errorf("%w: no %q header", ErrRecord, linePrefix)
	}
	var sum [4]byte
	if _, err := hex.Decode(sum[:], line[len(linePrefix):headerLen-1]); err != nil {
		return Record{}, fmt.Errorf("%w: bad checksum field", ErrRecord)
	}
	body := line[headerLen:]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(sum[:]) {
		return Record{}, ErrChecksum
	}
	var e envelope
	if err := json.Unmarshal(body, &e); err != nil {
		return Record{}, fmt.Errorf("%w: %v", ErrRecord, err)
	}
	r := Record(e)
	if err := r.checkNames(); err != nil {
		return Record{}, err
	}
	if len(r.Data) == 0 { // json.Unmarshal checked that data is valid
		return Record{}, r.errPayload()
	}
	return r, nil
}

// ackData is the payload of an AckKind record.
type ackData struct {
	Consumer string   `json:"consumer"`
	IDs      []string `json:"ids"`
}

// NewAck returns one acknowledgement record of ids for consumer, to be
// written together with other records in one Append (one write, one
// fsync): e.g. a result and the acknowledgement of the record it
// finishes. Journal.Ack is the usual way; it splits long lists.
func NewAck(consumer string, ids ...string) (Record, error) {
	if !ValidKind(consumer) {
		return Record{}, fmt.Errorf("%w: consumer %q", ErrRecord, consumer)
	}
	for _, id := range ids {
		if !validName(id, maxIDLen, false) {
			return Record{}, fmt.Errorf("%w: id %q", ErrRecord, id)
		}
	}
	recs, err := ackRecords(consumer, ids)
	if err != nil {
		return Record{}, err
	}
	if len(recs) != 1 {
		return Record{}, fmt.Errorf("%w: %d ids do not fit one acknowledgement", ErrRecord, len(ids))
	}
	return recs[0], nil
}

// ackRecords returns the acknowledgement records for ids, each small
// enough to fit MaxRecordSize.
func ackRecords(consumer string, ids []string) ([]Record, error) {
	// Room for the envelope, the consumer and the JSON punctuation.
	const budget = MaxRecordSize - 512
	var recs []Record
	for len(ids) > 0 {
		n, size := 0, 0
		for n < len(ids) && size+len(ids[n])+3 < budget {
			size += len(ids[n]) + 3
			n++
		}
		data, err := json.Marshal(ackData{Consumer: consumer, IDs: ids[:n]})
		if err != nil {
			return nil, err
		}
		recs = append(recs, Record{ID: NewID(), Kind: AckKind, Time: time.Now().UTC(), Data: data})
		ids = ids[n:]
	}
	return recs, nil
}
