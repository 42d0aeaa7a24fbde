package httpsource

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// authorizer adds the configured credentials to a request.
type authorizer interface {
	// apply sets the request's credentials; fresh asks an OAuth2
	// authorizer for a new access token instead of its cached one.
	apply(ctx context.Context, r *http.Request, fresh bool) error
	// method names the method for messages ("auth.bearer").
	method() string
}

// newAuthorizer returns the authorizer of a, nil when a sets no method.
// client is the HTTP client an OAuth2 token request goes through.
func newAuthorizer(a Auth, client *http.Client, shown func(string) string) authorizer {
	switch {
	case a.Basic != (Basic{}):
		return basicAuth(a.Basic)
	case a.Bearer.Token != "":
		return bearerAuth(a.Bearer)
	case a.OAuth2.TokenURL != "":
		o := a.OAuth2
		cc := &clientcredentials.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret, TokenURL: o.TokenURL, Scopes: o.Scopes}
		if len(o.EndpointParams) > 0 {
			cc.EndpointParams = url.Values{}
			for _, p := range o.EndpointParams {
				cc.EndpointParams.Add(p.Name, p.Value)
			}
		}
		return &oauth2Auth{cc: cc, client: client, shown: shown}
	}
	return nil
}

type basicAuth Basic

func (b basicAuth) apply(_ context.Context, r *http.Request, _ bool) error {
	r.SetBasicAuth(b.Username, b.Password)
	return nil
}
func (basicAuth) method() string { return "auth.basic" }

type bearerAuth Bearer

func (b bearerAuth) apply(_ context.Context, r *http.Request, _ bool) error {
	r.Header.Set("Authorization", "Bearer "+b.Token)
	return nil
}
func (bearerAuth) method() string { return "auth.bearer" }

// oauth2Auth is the client-credentials grant: it asks the token endpoint
// for an access token, keeps it until it expires (oauth2.Token.Valid: 10 s
// early), and asks again when apply is called with fresh (the API
// answered 401).
type oauth2Auth struct {
	cc     *clientcredentials.Config
	client *http.Client
	shown  func(string) string // renders a URL for messages

	mu  sync.Mutex
	tok *oauth2.Token
}

func (o *oauth2Auth) method() string { return "auth.oauth2" }

func (o *oauth2Auth) apply(ctx context.Context, r *http.Request, fresh bool) error {
	tok, err := o.token(ctx, fresh)
	if err != nil {
		return err
	}
	tok.SetAuthHeader(r)
	return nil
}

// token returns a valid access token, from the endpoint when the cached
// one expired or fresh is set.
func (o *oauth2Auth) token(ctx context.Context, fresh bool) (*oauth2.Token, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !fresh && o.tok.Valid() {
		return o.tok, nil
	}
	tok, err := o.cc.Token(context.WithValue(ctx, oauth2.HTTPClient, o.client))
	if err != nil {
		return nil, o.explain(err)
	}
	if tok.AccessToken == "" {
		return nil, fmt.Errorf("auth.oauth2: the token endpoint %s answered without an access token", o.shown(o.cc.TokenURL))
	}
	o.tok = tok
	return tok, nil
}

// tokenError is a failed token request; Refused says the endpoint
// answered and refused the client's credentials (no retry helps).
type tokenError struct {
	msg     string
	refused bool
	err     error
}

func (e *tokenError) Error() string { return e.msg }
func (e *tokenError) Unwrap() error { return e.err }

// explain turns a token request's error into a message that names the
// endpoint and says what it answered, without its body (which may echo
// the request) or the client secret.
func (o *oauth2Auth) explain(err error) error {
	where := o.shown(o.cc.TokenURL)
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		msg := "auth.oauth2: the token endpoint " + where + " refused the client credentials"
		if re.Response != nil {
			msg += " (" + re.Response.Status
			if re.ErrorCode != "" {
				msg += ", " + re.ErrorCode
			}
			msg += ")"
		}
		if re.ErrorDescription != "" {
			msg += ": " + strings.TrimSpace(re.ErrorDescription)
		}
		refused := re.Response == nil || re.Response.StatusCode < 500
		if !refused {
			msg = "auth.oauth2: the token endpoint " + where + " failed (" + re.Response.Status + ")"
		}
		return &tokenError{msg: msg, refused: refused, err: err}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &tokenError{msg: "auth.oauth2: cannot reach the token endpoint " + where + ": " + err.Error(), err: err}
}
