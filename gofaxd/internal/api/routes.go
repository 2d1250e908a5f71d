package api

import "net/http"

// handler serves one route for an authenticated principal; an error is
// answered as a problem document (see statusTable).
type handler func(s *Server, w http.ResponseWriter, r *http.Request, p *principal) error

// routes are every route of the API (the OpenAPI document lists exactly
// these; a test holds them together). Who may use which is decided in the
// handlers: see each resource's file.
var routes = []struct {
	pattern string
	handle  handler
}{
	{"GET /v1/openapi.json", (*Server).openAPI},

	{"POST /v1/tenants", (*Server).createTenant},
	{"GET /v1/tenants", (*Server).listTenants},
	{"GET /v1/tenants/{id}", (*Server).getTenant},
	{"PATCH /v1/tenants/{id}", (*Server).patchTenant},
	{"DELETE /v1/tenants/{id}", (*Server).deleteTenant},

	{"POST /v1/numbers", (*Server).createNumber},
	{"GET /v1/numbers", (*Server).listNumbers},
	{"GET /v1/numbers/{id}", (*Server).getNumber},
	{"PATCH /v1/numbers/{id}", (*Server).patchNumber},
	{"DELETE /v1/numbers/{id}", (*Server).deleteNumber},

	{"POST /v1/users", (*Server).createUser},
	{"GET /v1/users", (*Server).listUsers},
	{"GET /v1/users/{id}", (*Server).getUser},
	{"PATCH /v1/users/{id}", (*Server).patchUser},
	{"DELETE /v1/users/{id}", (*Server).deleteUser},
	{"POST /v1/users/{id}/api-keys", (*Server).createAPIKey},
	{"GET /v1/users/{id}/api-keys", (*Server).listAPIKeys},
	{"DELETE /v1/api-keys/{id}", (*Server).revokeAPIKey},

	{"POST /v1/endpoints", (*Server).createEndpoint},
	{"GET /v1/endpoints", (*Server).listEndpoints},
	{"GET /v1/endpoints/{id}", (*Server).getEndpoint},
	{"PATCH /v1/endpoints/{id}", (*Server).patchEndpoint},
	{"DELETE /v1/endpoints/{id}", (*Server).deleteEndpoint},

	{"POST /v1/faxes", (*Server).submitFax},
	{"GET /v1/faxes", (*Server).listFaxes},
	{"GET /v1/faxes/{id}", (*Server).getFax},
	{"DELETE /v1/faxes/{id}", (*Server).cancelFax},
	{"GET /v1/faxes/{id}/document", (*Server).getDocument},

	{"GET /v1/fallbacks", (*Server).listFallbacks},
	{"DELETE /v1/fallbacks/{number}", (*Server).deleteFallback},

	{"GET /v1/events", (*Server).listEvents},
	{"GET /v1/events/{id}", (*Server).getEvent},
	{"POST /v1/events/{id}/redeliver", (*Server).redeliverEvent},
}
