package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/access"
	"github.com/wharfhq/wharf/host/auth"
	"github.com/wharfhq/wharf/pluginapi"
)

// registerIdentity mounts who-am-I, tokens, bindings, sessions and users.
func (s *server) registerIdentity(g *echo.Group) {
	g.GET("/me", s.me)
	g.GET("/tokens", s.listTokens)
	g.POST("/tokens", s.createToken)
	g.DELETE("/tokens/:id", s.revokeToken)
	g.POST("/tokens/:id/rotate", s.rotateToken)
	g.GET("/bindings", s.listBindings)
	g.POST("/bindings", s.createBinding)
	g.DELETE("/bindings/:id", s.deleteBinding)
	g.GET("/sessions", s.listSessions)
	g.DELETE("/sessions/:id", s.endSession)
	g.GET("/users", s.listUsers)
	g.POST("/users/:id/disable", s.disableUser)
	g.POST("/users/:id/enable", s.enableUser)
}

// identity returns the authenticator, or the refusal of a host embedded
// without one.
func (s *server) identity() (*auth.Authenticator, error) {
	if s.auth == nil {
		return nil, pluginapi.Unsupported("this host manages no identities (it was embedded without host/auth)")
	}
	return s.auth, nil
}

func (s *server) me(c echo.Context) error {
	a, err := s.identity()
	if err != nil {
		return err
	}
	me, err := a.Me(c.Request().Context(), CallerOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, me)
}

func (s *server) listTokens(c echo.Context) error {
	a, err := s.identity()
	if err != nil {
		return err
	}
	ts, err := a.Tokens(c.Request().Context(), CallerOf(c), c.QueryParam("user"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"tokens": ts})
}

func (s *server) createToken(c echo.Context) error {
	a, err := s.identity()
	if err != nil {
		return err
	}
	var in auth.TokenRequest
	if err := decodeStrict(c, &in); err != nil {
		return err
	}
	t, err := a.CreateToken(c.Request().Context(), CallerOf(c), in)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store") // the secret is in it
	return c.JSON(http.StatusCreated, t)
}

func (s *server) revokeToken(c echo.Context) error {
	a, err := s.identity()
	if err != nil {
		return err
	}
	t, err := a.RevokeToken(c.Request().Context(), CallerOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

func (s *server) rotateToken(c echo.Context) error {
	a, err := s.identity()
	if err != nil {
		return err
	}
	t, err := a.RotateToken(c.Request().Context(), CallerOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, t)
}

func (s *server) listBindings(c echo.Context) error {
	a, err := s.identity()
	if err != nil {
		return err
	}
	bs, err := a.Bindings(c.Request().Context(), CallerOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"bindings": bs})
}

// bindingInput is a new binding: a subject, a role and a scope.
type bindingInput struct {
	Subject access.Subject `json:"subject"`
	Role    access.Role    `json:"role"`
	Scope   *access.Scope  `json:"scope"`
}

func (s *server) createBinding(c echo.Context) error {
	a, err := s.identity()
	if err != nil {
		return err
	}
	var in bindingInput
	if err := decodeStrict(c, &in); err != nil {
		return err
	}
	if in.Scope == nil {
		return pluginapi.Invalid("/scope", `a scope is required: {"all": true}, {"connections": [...]} or {"selector": "team=payments"}`)
	}
	b, err := a.CreateBinding(c.Request().Context(), CallerOf(c),
		access.Binding{Subject: in.Subject, Grant: access.Grant{Role: in.Role, Scope: *in.Scope}})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, b)
}

func (s *server) deleteBinding(c echo.Context) error {
	a, err := s.identity()
	if err != nil {
		return err
	}
	b, err := a.DeleteBinding(c.Request().Context(), CallerOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, b)
}

func (s *server) listSessions(c echo.Context) error {
	a, err := s.identity()
	if err != nil {
		return err
	}
	ss, err := a.Sessions(c.Request().Context(), CallerOf(c), c.QueryParam("user"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"sessions": ss})
}

func (s *server) endSession(c echo.Context) error {
	a, err := s.identity()
	if err != nil {
		return err
	}
	if err := a.EndSession(c.Request().Context(), CallerOf(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *server) listUsers(c echo.Context) error {
	a, err := s.identity()
	if err != nil {
		return err
	}
	us, err := a.Users(c.Request().Context(), CallerOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"users": us})
}

func (s *server) disableUser(c echo.Context) error { return s.setUserDisabled(c, true) }
func (s *server) enableUser(c echo.Context) error  { return s.setUserDisabled(c, false) }

func (s *server) setUserDisabled(c echo.Context, disabled bool) error {
	a, err := s.identity()
	if err != nil {
		return err
	}
	u, err := a.SetUserDisabled(c.Request().Context(), CallerOf(c), c.Param("id"), disabled)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}
