package hook

import (
	"fmt"
	"syscall"
	"unsafe"
)

// Become makes the calling process id: real, effective and saved user and
// group ids, and id's supplementary groups, in every thread. gofaxsend
// calls it first thing, because faxq starts it with real uid 0 and
// effective uid uucp: a program in that state can take root back at any
// time, and a shell it starts does so at once. Changing the groups needs
// root, so a process whose real or saved uid is 0 takes effective root back
// for the change; one that already has id's user and group ids everywhere
// is left as it is. After Become no id of the process is 0 (unless id is
// root).
func (id Identity) Become() error {
	ru, eu, su := getres(syscall.SYS_GETRESUID)
	rg, eg, sg := getres(syscall.SYS_GETRESGID)
	if ru == id.UID && eu == id.UID && su == id.UID && rg == id.GID && eg == id.GID && sg == id.GID {
		return nil
	}
	if eu != 0 {
		if err := syscall.Setresuid(-1, 0, -1); err != nil {
			return fmt.Errorf("hook: take back root to change ids: %w", err)
		}
	}
	groups := make([]int, len(id.Groups))
	for i, g := range id.Groups {
		groups[i] = int(g)
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("hook: setgroups %v: %w", groups, err)
	}
	if err := syscall.Setresgid(int(id.GID), int(id.GID), int(id.GID)); err != nil {
		return fmt.Errorf("hook: setresgid %d: %w", id.GID, err)
	}
	if err := syscall.Setresuid(int(id.UID), int(id.UID), int(id.UID)); err != nil {
		return fmt.Errorf("hook: setresuid %d: %w", id.UID, err)
	}
	return nil
}

// getres returns the real, effective and saved id of getresuid or
// getresgid (trap); they cannot fail with valid pointers.
func getres(trap uintptr) (r, e, s uint32) {
	syscall.RawSyscall(trap, uintptr(unsafe.Pointer(&r)), uintptr(unsafe.Pointer(&e)), uintptr(unsafe.Pointer(&s)))
	return r, e, s
}
