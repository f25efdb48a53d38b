module spinkube-c.local/grpc-fake

go 1.24
