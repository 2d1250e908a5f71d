package hook

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ErrPrivileges reports a process whose user ids are mixed (real uid 0,
// another effective uid, as faxq starts its send program): a script
// started from it could become root, and the process cannot give it
// another identity without becoming root first (Become).
var ErrPrivileges = errors.New("hook: real and effective user ids differ; refusing to start a script that could regain root")

// Identity is a user and its groups, as scripts and gofaxsend run.
type Identity struct {
	UID, GID uint32
	Groups   []uint32 // supplementary groups, GID included
}

// Owner returns the identity of the owner of path (the spool): its user
// id, that user's primary group and supplementary groups from the user
// database. An owner without an entry there gets path's group and no
// other.
func Owner(path string) (Identity, error) {
	uid, gid, err := OwnerIDs(path)
	if err != nil {
		return Identity{}, err
	}
	return UserIdentity(uid, gid)
}

// OwnerIDs returns the user and group ids that own path.
func OwnerIDs(path string) (uid, gid uint32, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, fmt.Errorf("hook: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, fmt.Errorf("hook: %s: no owner information", path)
	}
	return st.Uid, st.Gid, nil
}

// identityTTL is how long credential reuses what the user database said
// of a user: a daemon running scripts as root looks it up for every run
// otherwise (reading /etc/passwd and /etc/group), and a change there
// takes effect this much later.
const identityTTL = time.Minute

// identities caches UserIdentity for credential.
var identities struct {
	mu sync.Mutex
	m  map[[2]uint32]cachedIdentity
}

type cachedIdentity struct {
	id      Identity
	expires time.Time
}

// cachedUserIdentity is UserIdentity, remembered for identityTTL.
func cachedUserIdentity(uid, gid uint32) (Identity, error) {
	key := [2]uint32{uid, gid}
	now := time.Now()
	identities.mu.Lock()
	c, ok := identities.m[key]
	identities.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.id, nil
	}
	id, err := UserIdentity(uid, gid)
	if err != nil {
		return id, err
	}
	identities.mu.Lock()
	if identities.m == nil {
		identities.m = map[[2]uint32]cachedIdentity{}
	}
	identities.m[key] = cachedIdentity{id, now.Add(identityTTL)}
	identities.mu.Unlock()
	return id, nil
}

// UserIdentity returns the identity of user id uid with its groups from
// the user database; a uid without an entry gets gid and no other group.
func UserIdentity(uid, gid uint32) (Identity, error) {
	id := Identity{UID: uid, GID: gid, Groups: []uint32{gid}}
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		var unknown user.UnknownUserIdError
		if errors.As(err, &unknown) {
			return id, nil
		}
		return Identity{}, fmt.Errorf("hook: user %d: %w", uid, err)
	}
	g, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return Identity{}, fmt.Errorf("hook: user %d: group %q: %w", uid, u.Gid, err)
	}
	id.GID, id.Groups = uint32(g), []uint32{uint32(g)}
	names, err := u.GroupIds()
	if err != nil {
		return Identity{}, fmt.Errorf("hook: groups of user %d: %w", uid, err)
	}
	for _, s := range names {
		if n, err := strconv.ParseUint(s, 10, 32); err == nil && !slices.Contains(id.Groups, uint32(n)) {
			id.Groups = append(id.Groups, uint32(n))
		}
	}
	return id, nil
}

// credential returns the identity a script started from dir runs as, or
// nil to run it as the process itself. A process with effective uid 0
// starts every script as the owner of dir (the daemon's working directory
// when dir is empty), real and effective ids and groups alike, so that a
// daemon started as root by hand does not run DynamicConfig or faxrcvd as
// root in a spool that belongs to uucp. A process whose real uid is 0 but
// whose effective uid is not (faxq's way of starting a program) cannot
// change the ids of its children and must not start a script at all:
// /bin/sh would take the real uid back.
func credential(dir string) (*syscall.Credential, error) {
	switch {
	case os.Geteuid() == 0:
	case os.Getuid() == 0:
		return nil, ErrPrivileges
	default:
		return nil, nil
	}
	if dir == "" {
		dir = "."
	}
	uid, gid, err := OwnerIDs(dir)
	if err != nil {
		return nil, err
	}
	id, err := cachedUserIdentity(uid, gid)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: id.UID, Gid: id.GID, Groups: id.Groups}, nil
}
