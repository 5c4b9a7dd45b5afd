package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/wharfhq/wharf/host/ops"
)

// listChoices answers the possible values of a spec field (ABI 1.3
// "choices"): GET /connections/{conn}/choices?field=/secrets/*/name.
func (s *server) listChoices(c echo.Context) error {
	limit, err := queryInt(c, "limit")
	if err != nil {
		return err
	}
	out, err := s.h.Choices(c.Request().Context(), CallerOf(c), c.Param("conn"), c.QueryParam("field"),
		ops.ChoicesOptions{Prefix: c.QueryParam("prefix"), Limit: limit})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
