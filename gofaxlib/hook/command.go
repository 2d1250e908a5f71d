package hook

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrSyntax is wrapped by Split errors.
var ErrSyntax = errors.New("hook: bad command syntax")

// Command builds a Cmd from a configured command (e.g. [gofaxd] faxrcvdcmd)
// and the call's arguments. GOfax.IP's values are a program path, relative
// to the spool directory; to allow options, a value that does not name an
// existing file is split into words like a shell would (see Split), but
// nothing is expanded and no shell runs. A relative program path containing
// "/" is resolved against dir, a bare name is looked up in PATH. The Cmd
// runs in dir.
func Command(spec, dir string, args ...string) (Cmd, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return Cmd{}, fmt.Errorf("%w: empty command", ErrSyntax)
	}
	words := []string{spec}
	if !isFile(resolve(spec, dir)) {
		var err error
		if words, err = Split(spec); err != nil {
			return Cmd{}, err
		}
	}
	return Cmd{
		Path: resolve(words[0], dir),
		Args: append(words[1:len(words):len(words)], args...),
		Dir:  dir,
	}, nil
}

func resolve(prog, dir string) string {
	if filepath.IsAbs(prog) || !strings.Contains(prog, "/") {
		return prog
	}
	return filepath.Join(dir, prog)
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// Split breaks s into words the way a POSIX shell does, without expanding
// anything: blanks separate words; 'single quotes' keep everything
// literally; "double quotes" keep everything but allow \" \\ \$ and \`;
// outside quotes a backslash keeps the next character. Variables, globs,
// ~, ;, |, & and redirections have no special meaning: they are plain
// characters. An unterminated quote or trailing backslash is an error, and so
// is a string without words.
func Split(s string) ([]string, error) {
	var (
		words  []string
		cur    strings.Builder
		inWord bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("%w: trailing backslash in %q", ErrSyntax, s)
			}
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("%w: unterminated ' in %q", ErrSyntax, s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("%w: unterminated \" in %q", ErrSyntax, s)
			}
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("%w: no command in %q", ErrSyntax, s)
	}
	return words, nil
}
