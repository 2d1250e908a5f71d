package hylafax

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// InfoDir is the spool directory of the remote machine database.
const InfoDir = "info"

// MaxMachineInfoSize bounds the read of an info/ file: HylaFAX writes
// about 600 bytes.
const MaxMachineInfoSize = 64 << 10

// maxInfoString bounds a string value written into an info/ file:
// HylaFAX reads lines of at most 1023 bytes, and a value escaped in full
// takes four bytes per byte.
const maxInfoString = 200

// Lockable items of a MachineInfo: a line starting with '&' holds its value
// against updates by the server (hylafax-info(5)).
const (
	LockVRes = 1 << iota
	Lock2D
	LockMMR
	LockPostScript
	LockPageWidth
	LockPageLength
	LockSignallingRate
	LockScanlineTime
	LockV34
	LockV17
	LockBatching
	LockPaging
)

// MachineInfo is what HylaFAX knows about a remote fax machine, the file
// info/<digits of the number> (HylaFAX's FaxMachineInfo, hylafax-info(5)).
// faxsend updates it after every call; faxq reads it when it prepares the
// documents of a job to that number.
type MachineInfo struct {
	SupportsVRes       uint16 // VR bit mask (VRFine, VRR8, ...); normal is always supported
	Supports2DEncoding bool
	SupportsMMR        bool
	HasV34Trouble      bool
	HasV17Trouble      bool
	SupportsPostScript bool
	SupportsBatching   bool
	CalledBefore       bool
	MaxPageWidth       uint16 // pixels at normal resolution
	MaxPageLength      uint16 // mm; 65535 = unlimited
	MaxSignallingRate  uint8  // BR code
	MinScanlineTime    uint8  // ST code
	RemoteCSI          string
	RemoteNSF          string // hex
	RemoteDIS          string // hex
	SendFailures       int    // consecutive failed send attempts
	LastSendFailure    string
	DialFailures       int // consecutive failed dials
	LastDialFailure    string

	PagerMaxMsgLength uint32 // 0xffffffff = unlimited
	PagerPassword     string
	PagerTTYParity    string
	PagingProtocol    string
	PageSource        string
	PagerSetupCmds    string

	Locked int // Lock* bits
}

// NewMachineInfo returns HylaFAX's assumptions about a machine never called:
// fine resolution, 2-D and MMR, A3 width, any length, 14400 bit/s.
func NewMachineInfo() MachineInfo {
	return MachineInfo{
		SupportsVRes:       VRFine,
		Supports2DEncoding: true,
		SupportsMMR:        true,
		SupportsBatching:   true,
		MaxPageWidth:       2432,
		MaxPageLength:      0xffff,
		MaxSignallingRate:  BR14400,
		MinScanlineTime:    ST0ms,
		PagerMaxMsgLength:  0xffffffff,
		PagingProtocol:     "ixo",
	}
}

// infoRates and infoScanlineTimes are the values HylaFAX writes for the BR
// and ST codes.
var (
	infoRates         = [...]string{"2400", "4800", "7200", "9600", "12000", "14400", "16800", "19200", "21600", "24000", "26400", "28800", "31200", "33600"}
	infoScanlineTimes = [...]string{"0ms", "5ms", "10ms/5ms", "10ms", "20ms/10ms", "20ms", "40ms/20ms", "40ms"}
)

// ParseMachineInfo reads an info/ file over the defaults of
// NewMachineInfo, as FaxMachineInfo::setConfigItem does: unknown tags,
// unknown rates and scan line times are ignored, and never an error.
func ParseMachineInfo(b []byte) MachineInfo {
	m := NewMachineInfo()
	for _, it := range ParseConfig(b) {
		tag, lock := it.Tag, 0
		locked := len(tag) > 0 && tag[0] == '&'
		if locked {
			tag = tag[1:]
		}
		v := it.Value
		if len(v) > maxInfoString {
			v = v[:maxInfoString]
		}
		boolean := func(dst *bool, bit int) { *dst, lock = ConfigBool(v), bit }
		switch tag {
		case "supportshighres":
			m.SupportsVRes, lock = VRFine, LockVRes
		case "supportsvres":
			m.SupportsVRes, lock = uint16(ConfigNumber(v)), LockVRes
		case "supports2dencoding":
			boolean(&m.Supports2DEncoding, Lock2D)
		case "supportsmmr":
			boolean(&m.SupportsMMR, LockMMR)
		case "hasv34trouble":
			boolean(&m.HasV34Trouble, LockV34)
		case "hasv17trouble":
			boolean(&m.HasV17Trouble, LockV17)
		case "supportspostscript":
			boolean(&m.SupportsPostScript, LockPostScript)
		case "supportsbatching":
			boolean(&m.SupportsBatching, LockBatching)
		case "calledbefore":
			m.CalledBefore = ConfigBool(v)
		case "maxpagewidth":
			m.MaxPageWidth, lock = uint16(ConfigNumber(v)), LockPageWidth
		case "maxpagelength":
			m.MaxPageLength, lock = uint16(ConfigNumber(v)), LockPageLength
		case "sendfailures":
			m.SendFailures = ConfigNumber(v)
		case "dialfailures":
			m.DialFailures = ConfigNumber(v)
		case "remotecsi":
			m.RemoteCSI = v
		case "remotensf":
			m.RemoteNSF = v
		case "remotedis":
			m.RemoteDIS = v
		case "lastsendfailure":
			m.LastSendFailure = v
		case "lastdialfailure":
			m.LastDialFailure = v
		case "maxsignallingrate":
			for i, r := range infoRates {
				if r == v {
					m.MaxSignallingRate, lock = uint8(i), LockSignallingRate
				}
			}
		case "minscanlinetime":
			for i, s := range infoScanlineTimes {
				if s == v {
					m.MinScanlineTime, lock = uint8(i), LockScanlineTime
				}
			}
		case "pagermaxmsglength":
			m.PagerMaxMsgLength = uint32(int32(ConfigNumber(v)))
		case "pagerpassword":
			m.PagerPassword = v
		case "pagerttyparity":
			m.PagerTTYParity = v
		case "pagingprotocol":
			// Empty is written as nothing, which reads as the default.
			m.PagingProtocol, lock = cmp.Or(v, "ixo"), LockPaging
		case "pagesource":
			m.PageSource = v
		case "pagersetupcmds":
			m.PagerSetupCmds = v
		}
		if locked {
			m.Locked |= lock
		}
	}
	return m
}

// Bytes returns the file as FaxMachineInfo::writeConfig writes it: every
// item in HylaFAX's order, "&" before locked ones, strings quoted, empty
// failure reasons and the pager items at their defaults left out. Strings
// are cut at 200 bytes.
func (m MachineInfo) Bytes() []byte {
	var b bytes.Buffer
	line := func(tag string, lock bool, v string) {
		if lock {
			b.WriteByte('&')
		}
		b.WriteString(tag + ":" + v + "\n")
	}
	locked := func(bit int) bool { return m.Locked&bit != 0 }
	yesno := func(v bool) string {
		if v {
			return "yes"
		}
		return "no"
	}
	str := func(v string) string {
		if len(v) > maxInfoString {
			v = v[:maxInfoString]
		}
		return quoteConfig(v)
	}
	line("supportsVRes", locked(LockVRes), strconv.Itoa(int(m.SupportsVRes)))
	line("supports2DEncoding", locked(Lock2D), yesno(m.Supports2DEncoding))
	line("supportsMMR", locked(LockMMR), yesno(m.SupportsMMR))
	line("hasV34Trouble", locked(LockV34), yesno(m.HasV34Trouble))
	line("hasV17Trouble", locked(LockV17), yesno(m.HasV17Trouble))
	line("supportsPostScript", locked(LockPostScript), yesno(m.SupportsPostScript))
	line("supportsBatching", locked(LockBatching), yesno(m.SupportsBatching))
	line("calledBefore", false, yesno(m.CalledBefore))
	line("maxPageWidth", locked(LockPageWidth), strconv.Itoa(int(m.MaxPageWidth)))
	line("maxPageLength", locked(LockPageLength), strconv.Itoa(int(m.MaxPageLength)))
	line("maxSignallingRate", locked(LockSignallingRate), str(infoRates[min(int(m.MaxSignallingRate), len(infoRates)-1)]))
	line("minScanlineTime", locked(LockScanlineTime), str(infoScanlineTimes[min(int(m.MinScanlineTime), len(infoScanlineTimes)-1)]))
	line("remoteCSI", false, str(m.RemoteCSI))
	line("remoteNSF", false, str(m.RemoteNSF))
	line("remoteDIS", false, str(m.RemoteDIS))
	line("sendFailures", false, strconv.Itoa(m.SendFailures))
	if m.LastSendFailure != "" {
		line("lastSendFailure", false, str(m.LastSendFailure))
	}
	line("dialFailures", false, strconv.Itoa(m.DialFailures))
	if m.LastDialFailure != "" {
		line("lastDialFailure", false, str(m.LastDialFailure))
	}
	if m.PagerMaxMsgLength != 0xffffffff {
		line("pagerMaxMsgLength", true, strconv.Itoa(int(int32(m.PagerMaxMsgLength))))
	}
	for _, p := range []struct {
		tag  string
		lock bool
		v    string
	}{
		{"pagerPassword", true, m.PagerPassword},
		{"pagerTTYParity", true, m.PagerTTYParity},
		{"pagingProtocol", locked(LockPaging), m.PagingProtocol},
		{"pageSource", true, m.PageSource},
		{"pagerSetupCmds", true, m.PagerSetupCmds},
	} {
		if p.v != "" {
			line(p.tag, p.lock, str(p.v))
		}
	}
	return b.Bytes()
}

// SetHasV17Trouble records V.17 trouble unless the item is locked.
func (m *MachineInfo) SetHasV17Trouble(v bool) {
	if m.Locked&LockV17 == 0 {
		m.HasV17Trouble = v
	}
}

// MachineInfoFile returns the spool-relative name of number's info/ file,
// "info/" and the number's digits (what faxsend takes after its dial
// rules; faxq without DialStringRules in etc/config names it the same),
// or "" for a number without digits.
func MachineInfoFile(number string) string {
	var digits []byte
	for i := 0; i < len(number); i++ {
		if c := number[i]; c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	if len(digits) == 0 {
		return ""
	}
	return filepath.Join(InfoDir, string(digits))
}

// UpdateMachineInfo reads the info/ file at path (NewMachineInfo when it
// does not exist), lets update change it and, when that changed anything,
// writes it back in place as faxsend does (created 0644, rewritten from the
// start and truncated). An exclusive flock, held throughout, keeps two
// gofaxsend runs from losing each other's update; HylaFAX itself does not
// lock the file. The wait for the lock ends with ctx.
func UpdateMachineInfo(ctx context.Context, path string, update func(*MachineInfo)) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("hylafax: info file: %w", err)
	}
	defer f.Close()
	if err := flockContext(ctx, f, syscall.LOCK_EX); err != nil {
		return fmt.Errorf("hylafax: lock info file %s: %w", path, err)
	}
	old, err := io.ReadAll(io.LimitReader(f, MaxMachineInfoSize))
	if err != nil {
		return fmt.Errorf("hylafax: read info file: %w", err)
	}
	m := ParseMachineInfo(old)
	before := m.Bytes()
	update(&m)
	data := m.Bytes()
	if bytes.Equal(data, before) && len(old) > 0 {
		return nil
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		return fmt.Errorf("hylafax: write info file: %w", err)
	}
	if err := f.Truncate(int64(len(data))); err != nil {
		return fmt.Errorf("hylafax: truncate info file: %w", err)
	}
	return nil
}

// ReadMachineInfo reads the info/ file at path; a missing file gives
// NewMachineInfo and fs.ErrNotExist.
func ReadMachineInfo(path string) (MachineInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return NewMachineInfo(), err
		}
		return MachineInfo{}, fmt.Errorf("hylafax: info file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxMachineInfoSize))
	if err != nil {
		return MachineInfo{}, fmt.Errorf("hylafax: read info file: %w", err)
	}
	return ParseMachineInfo(b), nil
}
