package api

import (
	"net/http"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// Users: the operator manages every tenant's; a tenant-admin those of its
// own tenant; a plain user may read itself and change its own password
// and email.

type userInput struct {
	TenantID        string        `json:"tenant_id"`
	Username        string        `json:"username"`
	Email           string        `json:"email"`
	Role            gofaxlib.Role `json:"role"`
	Password        string        `json:"password"`
	DefaultNumberID string        `json:"default_number_id"`
	Suspended       bool          `json:"suspended"`
}

type userPatch struct {
	Username        *string        `json:"username"`
	Email           *string        `json:"email"`
	Role            *gofaxlib.Role `json:"role"`
	Password        *string        `json:"password"`
	DefaultNumberID *string        `json:"default_number_id"` // "" = none
	Suspended       *bool          `json:"suspended"`
}

// userAudit is what the audit log keeps of a user change: never the
// password.
type userAudit struct {
	Username        *string        `json:"username,omitempty"`
	Email           *string        `json:"email,omitempty"`
	Role            *gofaxlib.Role `json:"role,omitempty"`
	DefaultNumberID *string        `json:"default_number_id,omitempty"`
	Suspended       *bool          `json:"suspended,omitempty"`
	PasswordChanged bool           `json:"password_changed"`
}

// managesUsers refuses plain users.
func managesUsers(p *principal) error {
	if p.isAdmin() || p.tenantAdmin() {
		return nil
	}
	return forbidden("managing users needs an admin token or a tenant-admin")
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := managesUsers(p); err != nil {
		return err
	}
	var in userInput
	if err := decodeJSON(r, s.o.MaxBody, &in, false); err != nil {
		return err
	}
	if in.TenantID == "" && !p.isAdmin() {
		in.TenantID = p.user.TenantID
	}
	if in.TenantID == "" {
		return fieldErr("tenant_id", "required")
	}
	u := gofaxlib.User{TenantID: in.TenantID, Username: in.Username, Email: in.Email, Role: in.Role,
		DefaultNumberID: in.DefaultNumberID, Suspended: in.Suspended}
	if err := s.checkUsername(r.Context(), u.Username); err != nil {
		return err
	}
	if err := s.store.CreateUser(r.Context(), p.scope(), &u, in.Password); err != nil {
		return usernameTaken(err)
	}
	s.audit(r, p, "user.create", "user", u.ID, u.TenantID, map[string]any{"username": u.Username, "role": u.Role,
		"password": in.Password != ""})
	w.Header().Set("Location", "/v1/users/"+u.ID)
	s.reply(w, http.StatusCreated, u)
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := managesUsers(p); err != nil {
		return err
	}
	q, err := parseQuery(r, "tenant_id")
	if err != nil {
		return err
	}
	pg, err := q.page()
	if err != nil {
		return err
	}
	sc, ok, err := q.listScope(p)
	if err != nil || !ok {
		return s.emptyList(w, err)
	}
	l, next, err := s.store.ListUsers(r.Context(), sc, pg)
	if err != nil {
		return err
	}
	s.reply(w, http.StatusOK, newList(l, next))
	return nil
}

// userFor returns user id if p may see it: any of its scope for managers,
// itself for a plain user (another user of its tenant is 403).
func (s *Server) userFor(r *http.Request, p *principal, id string) (gofaxlib.User, error) {
	u, err := s.store.User(r.Context(), p.scope(), id)
	if err != nil {
		return u, err
	}
	if !p.isAdmin() && !p.tenantAdmin() && u.ID != p.user.ID {
		return gofaxlib.User{}, forbidden("a user may only see itself; managing users needs a tenant-admin")
	}
	return u, nil
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, p *principal) error {
	u, err := s.userFor(r, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	s.reply(w, http.StatusOK, u)
	return nil
}

func (s *Server) patchUser(w http.ResponseWriter, r *http.Request, p *principal) error {
	var in userPatch
	if err := decodeJSON(r, s.o.MaxBody, &in, false); err != nil {
		return err
	}
	u, err := s.userFor(r, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	if managesUsers(p) != nil && (in.Username != nil || in.Role != nil || in.DefaultNumberID != nil || in.Suspended != nil) {
		return forbidden("a user may change only its own password and email")
	}
	old := u.Username
	set(&u.Username, in.Username)
	set(&u.Email, in.Email)
	set(&u.Role, in.Role)
	set(&u.DefaultNumberID, in.DefaultNumberID)
	set(&u.Suspended, in.Suspended)
	if in.Username != nil && *in.Username != old {
		if err := s.checkUsername(r.Context(), u.Username); err != nil {
			return err
		}
	}
	if in.Username != nil || in.Email != nil || in.Role != nil || in.DefaultNumberID != nil || in.Suspended != nil {
		if err := s.store.UpdateUser(r.Context(), p.scope(), &u); err != nil {
			return usernameTaken(err)
		}
	}
	if in.Password != nil {
		if err := s.store.SetPassword(r.Context(), p.scope(), u.ID, *in.Password); err != nil {
			return err
		}
	}
	s.forgetUser(u.ID)
	s.audit(r, p, "user.update", "user", u.ID, u.TenantID, userAudit{in.Username, in.Email, in.Role,
		in.DefaultNumberID, in.Suspended, in.Password != nil})
	s.reply(w, http.StatusOK, u)
	return nil
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := managesUsers(p); err != nil {
		return err
	}
	u, err := s.store.User(r.Context(), p.scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.store.DeleteUser(r.Context(), p.scope(), u.ID); err != nil {
		return err
	}
	s.forgetUser(u.ID)
	s.audit(r, p, "user.delete", "user", u.ID, u.TenantID, map[string]any{"username": u.Username})
	noContent(w)
	return nil
}
