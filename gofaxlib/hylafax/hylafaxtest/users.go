package hylafaxtest

import (
	"crypto/md5"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// User is an hfaxd account written to etc/hosts.hfaxd (Options.Users).
// hfaxd matches it for logins from 127.0.0.1 and localhost alike.
type User struct {
	// Name is the login name: letters, digits, '.', '_' and '-'.
	Name string
	// Password is asked for after USER; empty means none is asked.
	Password string
	// AdminPassword grants administrator rights through the ADMIN
	// command; empty means ADMIN is refused for this account.
	AdminPassword string
}

var userName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// hostsLine returns u's record for hosts.hfaxd:
// "regex:uid:passwd:adminwd", the passwords as crypt(3) hashes.
// The regex "^name@" matches "name@<client address or host>".
func (u User) hostsLine() (string, error) {
	if !userName.MatchString(u.Name) {
		return "", fmt.Errorf("bad hfaxd user name %q", u.Name)
	}
	if strings.ContainsAny(u.Password+u.AdminPassword, "\x00\r\n") {
		return "", errors.New("hfaxd password contains NUL or a line break")
	}
	line := fmt.Sprintf("^%s@:%d", strings.ReplaceAll(u.Name, ".", `\.`), faxGroupID)
	if u.Password == "" && u.AdminPassword == "" {
		return line + "\n", nil
	}
	line += ":" + hashPassword(u.Password)
	if u.AdminPassword != "" {
		line += ":" + hashPassword(u.AdminPassword)
	}
	return line + "\n", nil
}

// hashPassword returns pw as hfaxd compares it, crypt(pw, hash) == hash,
// in the MD5 scheme "$1$" that Debian's libcrypt supports. An empty pw
// stays empty: hfaxd asks for no password then.
func hashPassword(pw string) string {
	if pw == "" {
		return ""
	}
	const alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	salt := make([]byte, 8)
	rand.Read(salt)
	for i := range salt {
		salt[i] = alphabet[int(salt[i])%len(alphabet)]
	}
	return md5Crypt(pw, string(salt))
}

// md5Crypt is the "$1$" scheme of crypt(3) (FreeBSD's MD5 crypt, as in
// libcrypt and "openssl passwd -1"); salt is at most 8 characters.
func md5Crypt(pw, salt string) string {
	const magic = "$1$"
	if len(salt) > 8 {
		salt = salt[:8]
	}
	alt := md5.Sum([]byte(pw + salt + pw))
	ctx := md5.New()
	ctx.Write([]byte(pw + magic + salt))
	for n := len(pw); n > 0; n -= 16 {
		ctx.Write(alt[:min(n, 16)])
	}
	for n := len(pw); n != 0; n >>= 1 {
		if n&1 != 0 {
			ctx.Write([]byte{0})
		} else {
			ctx.Write([]byte(pw[:1]))
		}
	}
	final := ctx.Sum(nil)
	for i := range 1000 {
		h := md5.New()
		if i&1 != 0 {
			h.Write([]byte(pw))
		} else {
			h.Write(final)
		}
		if i%3 != 0 {
			h.Write([]byte(salt))
		}
		if i%7 != 0 {
			h.Write([]byte(pw))
		}
		if i&1 != 0 {
			h.Write(final)
		} else {
			h.Write([]byte(pw))
		}
		final = h.Sum(nil)
	}
	const alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var out []byte
	enc := func(v uint32, n int) {
		for ; n > 0; n-- {
			out = append(out, alphabet[v&0x3f])
			v >>= 6
		}
	}
	for _, g := range [][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}} {
		enc(uint32(final[g[0]])<<16|uint32(final[g[1]])<<8|uint32(final[g[2]]), 4)
	}
	enc(uint32(final[11]), 2)
	return magic + salt + "$" + string(out)
}
