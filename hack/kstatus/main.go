// kstatus prints the health that Flux and other kstatus users compute for
// Kubernetes objects, so tests can check what they would see.
//
//	kubectl get spinapp NAME -o json | kstatus
//
// It reads one object, or a List, as JSON on stdin and prints one line per
// object: "<kind>/<namespace>/<name> <status> <message>", where status is
// InProgress, Failed, Current, Terminating, NotFound or Unknown.
package main

import (
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

func main() {
	data, err := io.ReadAll(io.LimitReader(os.Stdin, 64<<20))
	if err != nil {
		fmt.Fprintln(os.Stderr, "kstatus: reading stdin:", err)
		os.Exit(2)
	}
	// apimachinery's decoder keeps whole numbers as int64, as the
	// unstructured accessors expect.
	var obj map[string]interface{}
	if err := json.Unmarshal(data, &obj); err != nil {
		fmt.Fprintln(os.Stderr, "kstatus: stdin is not a JSON object:", err)
		os.Exit(2)
	}
	items := []map[string]interface{}{obj}
	if list, ok := obj["items"].([]interface{}); ok {
		items = items[:0]
		for _, it := range list {
			if m, ok := it.(map[string]interface{}); ok {
				items = append(items, m)
			}
		}
	}
	for _, it := range items {
		u := &unstructured.Unstructured{Object: it}
		res, err := status.Compute(u)
		if err != nil {
			fmt.Fprintf(os.Stderr, "kstatus: %s/%s: %v\n", u.GetKind(), u.GetName(), err)
			os.Exit(1)
		}
		fmt.Printf("%s/%s/%s %s %s\n", u.GetKind(), u.GetNamespace(), u.GetName(), res.Status, res.Message)
	}
}
