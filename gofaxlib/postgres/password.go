package postgres

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Password hashes are argon2id in the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash) with the parameters below (OWASP's
// recommended minimum). bcrypt hashes ($2a$, $2b$, $2y$; e.g. made in
// psql with pgcrypto's crypt(pw, gen_salt('bf'))) are verified too. The
// parameters of a stored hash are bounded, so a row changed by hand cannot
// make one login take seconds or gigabytes.
const (
	passwordMemory  = 19 * 1024 // KiB
	passwordTime    = 2
	passwordThreads = 1
	passwordKeyLen  = 32
	passwordSaltLen = 16

	maxHashMemory  = 256 * 1024 // KiB
	maxHashTime    = 10
	maxHashThreads = 16
	maxBcryptCost  = 14

	// Password lengths: at least MinPasswordLen; at most MaxPasswordLen
	// bytes, which bounds the work of hashing.
	MinPasswordLen = 8
	MaxPasswordLen = 1024
)

// hashPassword returns the argon2id hash of pw.
func hashPassword(pw string) (string, error) {
	salt := make([]byte, passwordSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, passwordTime, passwordMemory, passwordThreads, passwordKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, passwordMemory, passwordTime,
		passwordThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var errBadHash = errors.New("unusable password hash")

// checkPassword reports whether pw matches hash; errBadHash for a hash it
// cannot or will not check.
func checkPassword(hash, pw string) (bool, error) {
	if strings.HasPrefix(hash, "$2a$") || strings.HasPrefix(hash, "$2b$") || strings.HasPrefix(hash, "$2y$") {
		cost, err := bcrypt.Cost([]byte(hash))
		if err != nil || cost > maxBcryptCost {
			return false, errBadHash
		}
		if len(pw) > 72 {
			return false, nil // bcrypt reads 72 bytes; refuse rather than cut
		}
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil, nil
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false, errBadHash
	}
	var m, t uint32
	var p uint8
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || n != 3 ||
		m < 8 || m > maxHashMemory || t < 1 || t > maxHashTime || p < 1 || p > maxHashThreads {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 64 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

var (
	dummyOnce sync.Once
	dummyHash string
)

// burn spends the time of one verification, so that an unknown user is
// answered as slowly as a wrong password.
func burn(pw string) {
	dummyOnce.Do(func() { dummyHash, _ = hashPassword("not a password") })
	checkPassword(dummyHash, pw)
}

// hashSlot waits for one of the bounded hashing slots.
func (s *Store) hashSlot(ctx context.Context) (release func(), err error) {
	select {
	case s.hashing <- struct{}{}:
		return func() { <-s.hashing }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func checkNewPassword(pw string) error {
	if len(pw) < MinPasswordLen || len(pw) > MaxPasswordLen {
		return &gofaxlib.FieldError{Field: "password", Err: fmt.Errorf("%d to %d bytes", MinPasswordLen, MaxPasswordLen)}
	}
	return nil
}
