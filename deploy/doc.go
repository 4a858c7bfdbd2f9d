// Package deploy checks the files that run bpfdraft in containers: the
// Dockerfile and .dockerignore at the repository root, docker-compose.yml
// (several nodes sharing one Redis behind Caddy) and this directory's
// Caddyfile. It has no code of its own; its tests read those files, load
// the compose file as Docker Compose would (without a Docker engine) and
// hold every command and setting in them against the real bpfdraft binary,
// so that renaming a flag or a subcommand cannot silently break a
// deployment.
package deploy
