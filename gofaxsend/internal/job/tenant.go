package job

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxsend/internal/outcome"
)

// sender is who a tenant's job is sent as: the job's owner is one of the
// tenant's users, and the calling number is one of the tenant's numbers.
type sender struct {
	tenant gofaxlib.Tenant
	user   gofaxlib.User
	number gofaxlib.Number // the calling number
	source string          // where the calling number came from, for the session log
}

// Where a tenant job's calling number may come from, in the order of
// precedence (callingNumber for jobs without a tenant).
const (
	fromDynamicConfig = "DynamicConfig FAXNumber"
	fromJobControl    = "JobControl FAXNumber"
	fromJob           = "the job's faxnumber"
	fromUserDefault   = "the user's default number"
)

// refused is a result that fails a job for a reason of the tenant data:
// retrying would not change it.
func refused(format string, args ...any) outcome.Result {
	return outcome.Result{Status: outcome.Failed, Code: outcome.CodeRejected, Text: fmt.Sprintf(format, args...)}
}

// tenantSender finds the tenant user owning a job and the number it is
// sent from. ok is false with res the result when the job must not be
// sent; s is nil (and ok true) for an owner who is no tenant user: such
// jobs are sent as before, without a tenant.
//
// The calling number is the first one set of DynamicConfig's FAXNumber,
// JobControl's FAXNumber, the job's faxnumber and the user's default
// number; it must be one of the tenant's numbers (compared as E.164 after
// normalisation with plan), else the job fails. A suspended tenant, user
// or number fails the job too.
func tenantSender(rt *gofaxlib.Routing, plan gofaxlib.NumberPlan, owner string, src numberSources) (s *sender, res outcome.Result, ok bool) {
	u, t, found := rt.User(owner)
	switch {
	case !found && u.ID != "":
		// The snapshot names the user but not its tenant: gofaxd wrote
		// something inconsistent, or is writing it. Try again later.
		return nil, outcome.Local(outcome.CodeUnknown, "Routing snapshot: user %q has no tenant %q", owner, u.TenantID), false
	case !found:
		return nil, outcome.Result{}, true
	case t.Suspended:
		return nil, refused("Tenant %q is suspended: no faxes are sent for it", t.Name), false
	case u.Suspended:
		return nil, refused("User %q of tenant %q is suspended", u.Username, t.Name), false
	}
	s = &sender{tenant: t, user: u}
	var value string
	for _, c := range []struct{ source, value string }{
		{fromDynamicConfig, src.DynamicConfig}, {fromJobControl, src.JobControl}, {fromJob, src.Job},
	} {
		if strings.TrimSpace(c.value) != "" {
			s.source, value = c.source, c.value
			break
		}
	}
	var n gofaxlib.Number
	var nt gofaxlib.Tenant
	switch {
	case s.source != "":
		e, err := plan.E164(value)
		if err != nil {
			return nil, refused("Calling number %q (%s) is not a telephone number: %v", value, s.source, err), false
		}
		n, nt, found = rt.Number(e)
		if !found || nt.ID != t.ID {
			return nil, refused("Calling number %s (%s) is not a number of tenant %q", e, s.source, t.Name), false
		}
	case u.DefaultNumberID == "":
		return nil, refused("No calling number: the job sets no faxnumber and user %q has no default number", u.Username), false
	default:
		s.source = fromUserDefault
		n, nt, found = rt.NumberByID(u.DefaultNumberID)
		if !found || nt.ID != t.ID {
			return nil, refused("The default number of user %q is not a number of tenant %q", u.Username, t.Name), false
		}
	}
	if n.Suspended {
		return nil, refused("Calling number %s of tenant %q is suspended", n.Number, t.Name), false
	}
	s.number = n
	return s, outcome.Result{}, true
}

// route is one way to the destination: a gateway, the number dialled
// through it and the caller ID number shown there.
type route struct {
	gateway string
	number  string // as dialled: digits, optionally with '+'
	cidNum  string
}

// endpointRoutes returns a route per gateway endpoint, the destination and
// the caller ID written in each endpoint's dial format (e164 when the
// endpoint names none). ok is false with res the result when a format
// cannot write a number: the operator's configuration, so a retry.
func endpointRoutes(plan gofaxlib.NumberPlan, eps []gofaxlib.Endpoint, dest, cid string) (routes []route, res outcome.Result, ok bool) {
	for _, ep := range eps {
		f := cmp.Or(ep.Options.Dial, gofaxlib.DialE164)
		num, err := plan.Dial(dest, f)
		if err != nil {
			return nil, outcome.Local(outcome.CodeNoLine, "Gateway %q cannot dial %s: %v", ep.Target, dest, err), false
		}
		c, err := plan.Dial(cid, f)
		if err != nil {
			return nil, outcome.Local(outcome.CodeNoLine, "Gateway %q cannot present caller ID %s: %v", ep.Target, cid, err), false
		}
		routes = append(routes, route{gateway: ep.Target, number: num, cidNum: c})
	}
	return routes, outcome.Result{}, true
}
