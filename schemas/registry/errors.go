package registry

import (
	"errors"
	"fmt"
)

// Confluent error codes. The HTTP status of an error is its code's first
// three digits (or the code itself when it has three digits).
const (
	CodeUnauthorized         = 401
	CodeNotFound             = 404
	CodeIncompatible         = 409
	CodeSubjectNotFound      = 40401
	CodeVersionNotFound      = 40402
	CodeSchemaNotFound       = 40403
	CodeSubjectLevelNotSet   = 40408
	CodeInvalidSchema        = 42201
	CodeInvalidVersion       = 42202
	CodeInvalidCompatibility = 42203
	CodeInvalidSubject       = 42208
	CodeBackend              = 50001
)

// Error is a registry error with a Confluent error code. Message is the
// human-readable text (Confluent's wording where Confluent has one); Err,
// when set, is the cause, such as a *schemas.CompatError for
// CodeIncompatible. errors.Is(err, ErrX) compares codes, so it matches
// errors built by the Registry and errors decoded by the Client alike.
type Error struct {
	// Code is the Confluent error_code.
	Code int
	// Message is the error text, without the code.
	Message string
	// Err is the underlying cause, or nil.
	Err error
}

// Error returns the message followed by the code in parentheses.
func (e *Error) Error() string { return fmt.Sprintf("%s (error code %d)", e.Message, e.Code) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code
}

// HTTPStatus returns the HTTP status the REST API answers the error with.
func (e *Error) HTTPStatus() int {
	c := e.Code
	for c >= 1000 {
		c /= 10
	}
	if c < 100 {
		return 500
	}
	return c
}

// Sentinels for errors.Is; their messages are generic, the errors returned
// name the subject, version or id concerned.
var (
	ErrUnauthorized         = &Error{Code: CodeUnauthorized, Message: "unauthorized"}
	ErrNotFound             = &Error{Code: CodeNotFound, Message: "not found"}
	ErrIncompatible         = &Error{Code: CodeIncompatible, Message: "incompatible schema"}
	ErrSubjectNotFound      = &Error{Code: CodeSubjectNotFound, Message: "subject not found"}
	ErrVersionNotFound      = &Error{Code: CodeVersionNotFound, Message: "version not found"}
	ErrSchemaNotFound       = &Error{Code: CodeSchemaNotFound, Message: "schema not found"}
	ErrSubjectLevelNotSet   = &Error{Code: CodeSubjectLevelNotSet, Message: "subject has no subject-level compatibility"}
	ErrInvalidSchema        = &Error{Code: CodeInvalidSchema, Message: "invalid schema"}
	ErrInvalidVersion       = &Error{Code: CodeInvalidVersion, Message: "invalid version"}
	ErrInvalidCompatibility = &Error{Code: CodeInvalidCompatibility, Message: "invalid compatibility level"}
	ErrInvalidSubject       = &Error{Code: CodeInvalidSubject, Message: "invalid subject"}
	ErrBackend              = &Error{Code: CodeBackend, Message: "backend error"}
)

func subjectNotFound(subject string) *Error {
	return &Error{Code: CodeSubjectNotFound, Message: fmt.Sprintf("Subject '%s' not found.", subject)}
}

func versionNotFound(subject string, version int) *Error {
	return &Error{Code: CodeVersionNotFound, Message: fmt.Sprintf("Version %d not found in subject '%s'.", version, subject)}
}

func invalidSchema(err error) *Error {
	return &Error{Code: CodeInvalidSchema, Message: "Invalid schema: " + err.Error(), Err: err}
}

func invalidVersion(v string) *Error {
	return &Error{Code: CodeInvalidVersion, Message: fmt.Sprintf(
		"The specified version '%s' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"", v)}
}

func invalidCompatibility(level string) *Error {
	return &Error{Code: CodeInvalidCompatibility, Message: fmt.Sprintf(
		"Invalid compatibility level '%s'. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive", level)}
}

func backendError(err error) *Error {
	return &Error{Code: CodeBackend, Message: "Error in the backend datastore: " + err.Error(), Err: err}
}
