package registry

// ContentType is the media type of the REST API's requests and responses.
const ContentType = "application/vnd.schemaregistry.v1+json"

// The JSON bodies of the REST API, shared by Handler and Client.
type (
	registerRequest struct {
		Schema     string            `json:"schema"`
		SchemaType string            `json:"schemaType,omitempty"`
		References []schemaReference `json:"references,omitempty"`
	}
	schemaReference struct {
		Name    string `json:"name"`
		Subject string `json:"subject"`
		Version int    `json:"version"`
	}
	idResponse struct {
		ID int `json:"id"`
	}
	compatibilityResponse struct {
		IsCompatible bool     `json:"is_compatible"`
		Messages     []string `json:"messages,omitempty"`
	}
	configRequest struct {
		Compatibility string `json:"compatibility"`
	}
	configResponse struct {
		CompatibilityLevel string `json:"compatibilityLevel"`
	}
	errorResponse struct {
		ErrorCode int    `json:"error_code"`
		Message   string `json:"message"`
	}
)

// wireSchema returns s as the REST API sends it: schemaType is left out
// for Avro, as Confluent does.
func wireSchema(s Schema) Schema {
	if s.Type == TypeAvro {
		s.Type = ""
	}
	return s
}
