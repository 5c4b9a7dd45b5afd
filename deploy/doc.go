// Package deploy holds no Go code, only its tests: the container image
// (Dockerfile, build-image.sh) and the systemd unit (wharf.service) of this
// folder are checked here against the real Docker engine and systemd's own
// verifier.
package deploy
