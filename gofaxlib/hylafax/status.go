package hylafax

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// maxStatusRead bounds how much of a status file ReadStatus reads: faxstat
// shows one line of a few dozen characters.
const maxStatusRead = 4 << 10

// ErrBadModem is returned for a modem id that cannot be a file name in
// status/ (empty, with a '/', or starting with '.').
var ErrBadModem = errors.New("hylafax: invalid modem id")

func statusPath(spool, modem string) (string, error) {
	if modem == "" || strings.ContainsAny(modem, "/\x00") || strings.HasPrefix(modem, ".") {
		return "", fmt.Errorf("%w: %q", ErrBadModem, modem)
	}
	return filepath.Join(spool, StatusDir, modem), nil
}

// WriteStatus sets the text faxstat shows for modem, status/<modem>, as
// HylaFAX's ModemServer::setServerStatus does: under an exclusive flock the
// file is rewritten in place with text and a newline (created with mode
// 0644). Line breaks in text become blanks, as faxstat shows only the
// first line. Waiting for the lock ends with ctx.
func WriteStatus(ctx context.Context, spool, modem, text string) error {
	path, err := statusPath(spool, modem)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("hylafax: open status file: %w", err)
	}
	defer f.Close()
	if err := flockContext(ctx, f, syscall.LOCK_EX); err != nil {
		return fmt.Errorf("hylafax: lock status file: %w", err)
	}
	data := []byte(strings.NewReplacer("\r", " ", "\n", " ").Replace(text) + "\n")
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("hylafax: truncate status file: %w", err)
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		return fmt.Errorf("hylafax: write status file: %w", err)
	}
	return f.Close()
}

// ReadStatus returns the first line of status/<modem> without its newline,
// as faxstat shows it.
func ReadStatus(spool, modem string) (string, error) {
	path, err := statusPath(spool, modem)
	if err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hylafax: read status file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStatusRead))
	if err != nil {
		return "", fmt.Errorf("hylafax: read status file: %w", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	return line, nil
}
