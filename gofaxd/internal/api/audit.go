package api

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
)

// auditTimeout bounds writing one audit entry; it is written even when the
// client has gone, since the action it records has happened.
const auditTimeout = 10 * time.Second

// audit records that p did action on an object (of tenant tenantID, ""
// for none). details is encoded as a JSON object and must hold no secrets.
// A failure to write it is logged: the action has happened already.
func (s *Server) audit(r *http.Request, p *principal, action, objType, objID, tenantID string, details any) {
	var b []byte
	if details != nil {
		var err error
		if b, err = json.Marshal(details); err != nil || len(b) == 0 || b[0] != '{' {
			b = nil
		}
	}
	e := gofaxlib.AuditEntry{Actor: p.actor(), TenantID: tenantID, Action: action, ObjectType: objType,
		ObjectID: objID, RemoteAddr: remoteHost(r), Details: b}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), auditTimeout)
	defer cancel()
	if err := s.store.Audit(ctx, &e); err != nil {
		s.log.Error("api: writing the audit log failed", "request_id", requestID(r), "actor", e.Actor,
			"action", action, "object_id", objID, "error", err)
	}
}

func remoteHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}
