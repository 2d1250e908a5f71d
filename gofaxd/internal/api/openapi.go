package api

import (
	_ "embed"
	"net/http"
)

// openAPIDoc is the OpenAPI 3.1 description of the API.
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPI serves the OpenAPI document (to any authenticated caller).
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request, p *principal) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	w.Write(openAPIDoc)
	return nil
}
