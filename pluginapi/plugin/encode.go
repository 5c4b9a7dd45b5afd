package plugin

import (
	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin/jsonw"
)

// EncodeAnswer is the SDK's default answer encoder, which Dispatch uses for
// every provider: it writes the successful answers that carry services,
// log entries, instances and deployments (*ServiceResponse, *ListResponse,
// *LogsResponse, *InstancesResponse, *DeploymentsResponse) without
// reflection, as encoding/json would write them (its tests fill every
// exported field by reflection and compare). ok is false for any other
// value and for answers carrying an error; Dispatch then uses
// encoding/json. Raw and Spec members are embedded as the provider set
// them, see package jsonw.
func EncodeAnswer(answer any) (out []byte, ok bool) {
	switch r := answer.(type) {
	case *pluginapi.ServiceResponse:
		if r.Error != nil {
			return nil, false
		}
		size := 256
		if r.Service != nil {
			size += 2*len(r.Service.Raw) + len(r.Service.Spec)
		}
		o := jsonw.Open(make([]byte, 0, size))
		if r.Service != nil {
			o.Key("service")
			o.B = appendService(o.B, r.Service)
		}
		o.Strs("warnings", r.Warnings, true)
		return o.Close(), true
	case *pluginapi.ListResponse:
		if r.Error != nil {
			return nil, false
		}
		size := 64
		for i := range r.Services {
			size += 256 + len(r.Services[i].Raw) + len(r.Services[i].Spec)
		}
		o := jsonw.Open(make([]byte, 0, size))
		jsonw.List(&o, "services", r.Services, false, appendService)
		o.Str("next_page_token", r.NextPageToken, true)
		return o.Close(), true
	case *pluginapi.LogsResponse:
		if r.Error != nil {
			return nil, false
		}
		o := jsonw.Open(make([]byte, 0, 64+160*len(r.Entries)))
		jsonw.List(&o, "entries", r.Entries, false, appendLogEntry)
		o.Str("cursor", r.Cursor, true)
		o.Bool("more", r.More, true)
		o.Str("cursor_backward", r.CursorBackward, true)
		o.Bool("end", r.End, true)
		return o.Close(), true
	case *pluginapi.InstancesResponse:
		if r.Error != nil {
			return nil, false
		}
		size := 64
		for i := range r.Instances {
			size += 256 + len(r.Instances[i].Raw)
		}
		o := jsonw.Open(make([]byte, 0, size))
		jsonw.List(&o, "instances", r.Instances, false, appendInstance)
		o.Str("next_page_token", r.NextPageToken, true)
		return o.Close(), true
	case *pluginapi.DeploymentsResponse:
		if r.Error != nil {
			return nil, false
		}
		size := 64
		for i := range r.Deployments {
			size += 256 + len(r.Deployments[i].Raw)
		}
		o := jsonw.Open(make([]byte, 0, size))
		jsonw.List(&o, "deployments", r.Deployments, false, appendDeployment)
		o.Str("next_page_token", r.NextPageToken, true)
		return o.Close(), true
	}
	return nil, false
}

func appendService(b []byte, s *pluginapi.Service) []byte {
	o := jsonw.Open(b)
	o.Str("id", s.ID, false)
	o.Str("name", s.Name, false)
	o.Str("status", string(s.Status), false)
	o.Str("native_status", s.NativeStatus, true)
	o.Str("status_message", s.StatusMessage, true)
	o.IntPtr("desired", s.Desired)
	o.IntPtr("running", s.Running)
	o.Str("image", s.Image, true)
	jsonw.List(&o, "endpoints", s.Endpoints, true, appendEndpoint)
	o.StrMap("labels", s.Labels, true)
	o.TimePtr("created_at", s.CreatedAt)
	o.TimePtr("updated_at", s.UpdatedAt)
	o.Str("version", s.Version, true)
	if r := s.Rollout; r != nil {
		o.Key("rollout")
		ro := jsonw.Open(o.B)
		ro.Str("state", r.State, false)
		ro.Str("message", r.Message, true)
		ro.Bool("rollback", r.Rollback, true)
		ro.TimePtr("started_at", r.StartedAt)
		ro.TimePtr("completed_at", r.CompletedAt)
		o.B = ro.Close()
	}
	o.StrsOmitNil("actions_available", s.ActionsAvailable)
	o.Raw("spec", s.Spec)
	o.Raw("raw", s.Raw)
	return o.Close()
}

func appendEndpoint(b []byte, ep *pluginapi.Endpoint) []byte {
	o := jsonw.Open(b)
	o.Str("url", ep.URL, true)
	o.Str("protocol", ep.Protocol, true)
	o.Int("port", ep.Port, true)
	o.Int("published", ep.Public, true)
	return o.Close()
}

func appendLogEntry(b []byte, e *pluginapi.LogEntry) []byte {
	o := jsonw.Open(b)
	o.TimePtr("time", e.Time)
	o.Str("stream", e.Stream, true)
	o.Str("instance", e.Instance, true)
	o.Str("message", e.Message, false)
	o.StrMap("details", e.Details, true)
	return o.Close()
}

func appendInstance(b []byte, in *pluginapi.Instance) []byte {
	o := jsonw.Open(b)
	o.Str("id", in.ID, false)
	o.Str("name", in.Name, true)
	o.Str("service_id", in.ServiceID, true)
	o.Str("service_name", in.ServiceName, true)
	o.Str("status", string(in.Status), false)
	o.Str("native_status", in.NativeStatus, true)
	o.Str("desired_state", in.DesiredState, true)
	o.Str("message", in.Message, true)
	o.Str("node", in.Node, true)
	o.Int("slot", in.Slot, true)
	o.Str("image", in.Image, true)
	o.TimePtr("created_at", in.CreatedAt)
	o.TimePtr("updated_at", in.UpdatedAt)
	o.Raw("raw", in.Raw)
	return o.Close()
}

func appendDeployment(b []byte, d *pluginapi.Deployment) []byte {
	o := jsonw.Open(b)
	o.Str("id", d.ID, false)
	o.Str("status", d.Status, false)
	o.Str("status_reason", d.StatusReason, true)
	o.Bool("rollback", d.Rollback, true)
	o.Str("target", d.Target, true)
	o.TimePtr("created_at", d.CreatedAt)
	o.TimePtr("started_at", d.StartedAt)
	o.TimePtr("finished_at", d.FinishedAt)
	o.Raw("raw", d.Raw)
	return o.Close()
}
