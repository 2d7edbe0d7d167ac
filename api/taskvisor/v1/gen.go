// Package taskvisorv1 is the generated Go code of the taskvisor node API,
// api/taskvisor/v1/taskvisor.proto: its messages and the Taskvisor gRPC
// service's client and server.
//
// Regenerate after a change to the .proto (protoc from Debian's
// protobuf-compiler, the plugins by go install):
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
//	go generate ./api/...
package taskvisorv1

//go:generate protoc -I . --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative taskvisor.proto
