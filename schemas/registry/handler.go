package registry

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/rivven/rivven-connect/schemas"
)

// HandlerOptions configures Handler.
type HandlerOptions struct {
	// Username and Password, when Username is set, require HTTP basic
	// authentication on every request.
	Username string
	Password string
	// MaxBodyBytes bounds request bodies; zero means 16 MiB.
	MaxBodyBytes int64
}

// Handler returns the Confluent-compatible REST API of r:
//
//	GET    /subjects
//	GET    /subjects/{s}/versions
//	GET    /subjects/{s}/versions/{v|latest}
//	GET    /subjects/{s}/versions/{v|latest}/schema
//	POST   /subjects/{s}/versions                      register
//	POST   /subjects/{s}                               look up
//	DELETE /subjects/{s}
//	GET    /schemas/ids/{id}
//	GET    /schemas/types
//	POST   /compatibility/subjects/{s}/versions[/{v|latest}]   (?verbose=true)
//	GET    /config, PUT /config
//	GET    /config/{s} (?defaultToGlobal=true), PUT /config/{s}, DELETE /config/{s}
//
// Errors are JSON {"error_code": n, "message": "..."} with the HTTP status
// taken from the code. The handler does not own r and is safe for
// concurrent use; schema references are not supported (42201).
func Handler(r *Registry, opts HandlerOptions) http.Handler {
	h := &handler{r: r, opts: opts}
	if h.opts.MaxBodyBytes <= 0 {
		h.opts.MaxBodyBytes = 16 << 20
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /subjects", h.subjects)
	mux.HandleFunc("GET /subjects/{subject}/versions", h.versions)
	mux.HandleFunc("GET /subjects/{subject}/versions/{version}", h.version)
	mux.HandleFunc("GET /subjects/{subject}/versions/{version}/schema", h.versionSchema)
	mux.HandleFunc("POST /subjects/{subject}/versions", h.register)
	mux.HandleFunc("POST /subjects/{subject}", h.lookup)
	mux.HandleFunc("DELETE /subjects/{subject}", h.deleteSubject)
	mux.HandleFunc("GET /schemas/ids/{id}", h.schemaByID)
	mux.HandleFunc("GET /schemas/types", h.types)
	mux.HandleFunc("POST /compatibility/subjects/{subject}/versions", h.compatibility)
	mux.HandleFunc("POST /compatibility/subjects/{subject}/versions/{version}", h.compatibility)
	mux.HandleFunc("GET /config", h.getConfig)
	mux.HandleFunc("PUT /config", h.putConfig)
	mux.HandleFunc("GET /config/{subject}", h.getConfig)
	mux.HandleFunc("PUT /config/{subject}", h.putConfig)
	mux.HandleFunc("DELETE /config/{subject}", h.deleteConfig)
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		writeError(w, &Error{Code: CodeNotFound, Message: "HTTP 404 Not Found"})
	})
	if opts.Username == "" {
		return mux
	}
	return h.auth(mux)
}

type handler struct {
	r    *Registry
	opts HandlerOptions
}

func (h *handler) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		user, pass, ok := req.BasicAuth()
		userOK := subtle.ConstantTimeCompare([]byte(user), []byte(h.opts.Username)) == 1
		passOK := subtle.ConstantTimeCompare([]byte(pass), []byte(h.opts.Password)) == 1
		if !ok || !userOK || !passOK {
			w.Header().Set("WWW-Authenticate", `Basic realm="schema-registry"`)
			writeError(w, &Error{Code: CodeUnauthorized, Message: "Unauthorized"})
			return
		}
		next.ServeHTTP(w, req)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = backendError(err)
	}
	writeJSON(w, e.HTTPStatus(), errorResponse{ErrorCode: e.Code, Message: e.Message})
}

// reply writes v, or err when it is not nil.
func reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (h *handler) decode(w http.ResponseWriter, req *http.Request, v any) bool {
	body := http.MaxBytesReader(w, req.Body, h.opts.MaxBodyBytes)
	data, err := io.ReadAll(body)
	if err == nil {
		err = json.Unmarshal(data, v)
	}
	if err != nil {
		writeError(w, &Error{Code: 400, Message: "Invalid request body: " + err.Error()})
		return false
	}
	return true
}

// parseVersion parses a version path segment: a number ≥ 1, "latest" or
// -1 (Confluent's alias for latest).
func parseVersion(s string) (int, error) {
	if s == "latest" || s == "-1" {
		return Latest, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 {
		return 0, invalidVersion(s)
	}
	return v, nil
}

func (h *handler) subjects(w http.ResponseWriter, req *http.Request) {
	reply(w, h.r.Subjects(), nil)
}

func (h *handler) versions(w http.ResponseWriter, req *http.Request) {
	v, err := h.r.Versions(req.PathValue("subject"))
	reply(w, v, err)
}

func (h *handler) lookupVersion(req *http.Request) (Schema, error) {
	v, err := parseVersion(req.PathValue("version"))
	if err != nil {
		return Schema{}, err
	}
	return h.r.Version(req.PathValue("subject"), v)
}

func (h *handler) version(w http.ResponseWriter, req *http.Request) {
	s, err := h.lookupVersion(req)
	reply(w, wireSchema(s), err)
}

func (h *handler) versionSchema(w http.ResponseWriter, req *http.Request) {
	s, err := h.lookupVersion(req)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", ContentType)
	_, _ = io.WriteString(w, s.Text)
}

func (h *handler) readSchema(w http.ResponseWriter, req *http.Request) (registerRequest, bool) {
	var body registerRequest
	if !h.decode(w, req, &body) {
		return body, false
	}
	if len(body.References) > 0 {
		writeError(w, invalidSchema(errors.New("schema references are not supported")))
		return body, false
	}
	return body, true
}

func (h *handler) register(w http.ResponseWriter, req *http.Request) {
	body, ok := h.readSchema(w, req)
	if !ok {
		return
	}
	s, err := h.r.Register(req.PathValue("subject"), body.SchemaType, body.Schema)
	reply(w, idResponse{ID: s.ID}, err)
}

func (h *handler) lookup(w http.ResponseWriter, req *http.Request) {
	body, ok := h.readSchema(w, req)
	if !ok {
		return
	}
	s, err := h.r.Lookup(req.PathValue("subject"), body.SchemaType, body.Schema)
	reply(w, wireSchema(s), err)
}

func (h *handler) deleteSubject(w http.ResponseWriter, req *http.Request) {
	v, err := h.r.DeleteSubject(req.PathValue("subject"))
	reply(w, v, err)
}

func (h *handler) schemaByID(w http.ResponseWriter, req *http.Request) {
	id, err := strconv.Atoi(req.PathValue("id"))
	if err != nil || id < 1 {
		writeError(w, &Error{Code: CodeSchemaNotFound, Message: fmt.Sprintf("Schema %s not found.", req.PathValue("id"))})
		return
	}
	s, err := h.r.SchemaByID(id)
	reply(w, wireSchema(s), err)
}

func (h *handler) types(w http.ResponseWriter, req *http.Request) {
	reply(w, h.r.Types(), nil)
}

func (h *handler) compatibility(w http.ResponseWriter, req *http.Request) {
	version := Latest
	if s := req.PathValue("version"); s != "" {
		v, err := parseVersion(s)
		if err != nil {
			writeError(w, err)
			return
		}
		version = v
	}
	body, ok := h.readSchema(w, req)
	if !ok {
		return
	}
	err := h.r.TestCompatibility(req.PathValue("subject"), version, body.SchemaType, body.Schema)
	if err == nil {
		writeJSON(w, http.StatusOK, compatibilityResponse{IsCompatible: true})
		return
	}
	var ce *schemas.CompatError
	if !errors.As(err, &ce) {
		writeError(w, err)
		return
	}
	resp := compatibilityResponse{}
	if req.URL.Query().Get("verbose") == "true" {
		resp.Messages = compatMessages(ce)
	}
	writeJSON(w, http.StatusOK, resp)
}

// compatMessages renders a CompatError as the verbose compatibility
// endpoint's messages: one per change, then the version and level.
func compatMessages(ce *schemas.CompatError) []string {
	var out []string
	for _, c := range ce.Changes {
		out = append(out, fmt.Sprintf("%s (%s): %s", c.Path, ce.Direction, c.Reason))
	}
	return append(out,
		fmt.Sprintf("oldSchemaVersion: %d", ce.Version),
		fmt.Sprintf("compatibility: '%s'", ce.Level))
}

func (h *handler) getConfig(w http.ResponseWriter, req *http.Request) {
	subject := req.PathValue("subject")
	if subject == "" {
		reply(w, configResponse{CompatibilityLevel: string(h.r.Compatibility(""))}, nil)
		return
	}
	level, ok := h.r.SubjectCompatibility(subject)
	if !ok {
		if req.URL.Query().Get("defaultToGlobal") != "true" {
			writeError(w, &Error{Code: CodeSubjectLevelNotSet, Message: fmt.Sprintf(
				"Subject '%s' does not have subject-level compatibility configured", subject)})
			return
		}
		level = h.r.Compatibility("")
	}
	reply(w, configResponse{CompatibilityLevel: string(level)}, nil)
}

func (h *handler) putConfig(w http.ResponseWriter, req *http.Request) {
	var body configRequest
	if !h.decode(w, req, &body) {
		return
	}
	if strings.TrimSpace(body.Compatibility) == "" {
		writeError(w, invalidCompatibility(body.Compatibility))
		return
	}
	level, err := h.r.SetCompatibility(req.PathValue("subject"), schemas.Compatibility(body.Compatibility))
	reply(w, configRequest{Compatibility: string(level)}, err)
}

func (h *handler) deleteConfig(w http.ResponseWriter, req *http.Request) {
	subject := req.PathValue("subject")
	level, ok := h.r.SubjectCompatibility(subject)
	if !ok {
		writeError(w, subjectNotFound(subject))
		return
	}
	_, err := h.r.SetCompatibility(subject, "")
	reply(w, configResponse{CompatibilityLevel: string(level)}, err)
}
