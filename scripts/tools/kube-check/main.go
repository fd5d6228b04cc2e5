// kube-check decodes Kubernetes manifests, such as `helm template` prints, strictly into the
// real API types: k8s.io/api for the built-in kinds, the Prometheus Operator's
// monitoring.coreos.com/v1 and KEDA's keda.sh/v1alpha1. It uses apimachinery's own serializer in
// the strict mode the API server applies with fieldValidation=Strict: an unknown or duplicated
// field, a value of the wrong type or a bad quantity is an error, and so is a kind outside
// those groups. Then it runs the checks the API server makes without a cluster's state: object
// metadata (names, labels, annotations), container port names, probes on named ports that
// the container declares, a Deployment's selector matching its template, a ConfigMap within
// its size limit.
//
//	kube-check [FILE]
//
// It reads FILE (standard input when none or "-"), prints the objects as a JSON array of
// {apiVersion, kind, name, source}, and exits with status 1 after naming every problem.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// The API server refuses a ConfigMap whose data and binaryData exceed 1 MiB together.
const configMapMaxBytes = 1 << 20

type object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Source     string `json:"source,omitempty"`
}

func main() {
	if len(os.Args) > 2 {
		fmt.Fprintln(os.Stderr, "usage: kube-check [FILE]")
		os.Exit(2)
	}
	input := io.Reader(os.Stdin)
	if len(os.Args) == 2 && os.Args[1] != "-" {
		file, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintf(os.Stderr, "kube-check: %v\n", err)
			os.Exit(1)
		}
		defer file.Close()
		input = file
	}
	objects, problems, err := check(input)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kube-check: %v\n", err)
		os.Exit(1)
	}
	for _, problem := range problems {
		fmt.Fprintf(os.Stderr, "kube-check: %s\n", problem)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
	out, err := json.MarshalIndent(objects, "", "  ")
	if err != nil {
		fmt.Fprintf(os.Stderr, "kube-check: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}

func newScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme,
		appsv1.AddToScheme,
		autoscalingv2.AddToScheme,
		policyv1.AddToScheme,
		networkingv1.AddToScheme,
		monitoringv1.AddToScheme,
		kedav1alpha1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	return scheme, nil
}

// Helm names each rendered document's template in a comment above it.
var sourceComment = regexp.MustCompile(`(?m)^# Source: (.+)$`)

func check(input io.Reader) ([]object, []string, error) {
	scheme, err := newScheme()
	if err != nil {
		return nil, nil, err
	}
	decoder := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme,
		kjson.SerializerOptions{Yaml: true, Strict: true})
	reader := kyaml.NewYAMLReader(bufio.NewReader(input))
	objects := []object{}
	var problems []string
	for index := 1; ; index++ {
		document, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("document %d: %w", index, err)
		}
		source := ""
		if match := sourceComment.FindSubmatch(document); match != nil {
			source = string(bytes.TrimSpace(match[1]))
		}
		where := fmt.Sprintf("document %d", index)
		if source != "" {
			where += " (" + source + ")"
		}
		if empty, err := isEmpty(document); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", where, err))
			continue
		} else if empty {
			continue
		}
		decoded, gvk, err := decoder.Decode(document, nil, nil)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", where, err))
			continue
		}
		accessor, ok := decoded.(metav1.Object)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: %s has no object metadata", where, gvk.Kind))
			continue
		}
		objects = append(objects, object{
			APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Name: accessor.GetName(), Source: source,
		})
		for _, problem := range validate(decoded, accessor) {
			problems = append(problems, fmt.Sprintf("%s: %s %q: %s", where, gvk.Kind, accessor.GetName(), problem))
		}
	}
	return objects, problems, nil
}

// A document of comments only (Helm prints one for a template that renders nothing) is no object.
func isEmpty(document []byte) (bool, error) {
	asJSON, err := yaml.YAMLToJSONStrict(document)
	if err != nil {
		return false, err
	}
	trimmed := bytes.TrimSpace(asJSON)
	return len(trimmed) == 0 || string(trimmed) == "null", nil
}

func validate(decoded runtime.Object, meta metav1.Object) []string {
	nameRule := apivalidation.NameIsDNSSubdomain
	var errs field.ErrorList
	switch typed := decoded.(type) {
	case *corev1.Service:
		// A Service's name becomes a DNS label.
		nameRule = apivalidation.NameIsDNS1035Label
		for i, port := range typed.Spec.Ports {
			if port.Name != "" {
				errs = append(errs, portName(port.Name, field.NewPath("spec", "ports").Index(i).Child("name"))...)
			}
		}
	case *corev1.ConfigMap:
		size := 0
		for key, value := range typed.Data {
			size += len(key) + len(value)
		}
		for key, value := range typed.BinaryData {
			size += len(key) + len(value)
		}
		if size > configMapMaxBytes {
			errs = append(errs, field.TooLong(field.NewPath("data"), "", configMapMaxBytes))
		}
		for key := range typed.Data {
			for _, msg := range validation.IsConfigMapKey(key) {
				errs = append(errs, field.Invalid(field.NewPath("data").Key(key), key, msg))
			}
		}
	case *corev1.Secret:
		for key := range typed.StringData {
			for _, msg := range validation.IsConfigMapKey(key) {
				errs = append(errs, field.Invalid(field.NewPath("stringData").Key(key), key, msg))
			}
		}
	case *appsv1.Deployment:
		path := field.NewPath("spec")
		selector, err := metav1.LabelSelectorAsSelector(typed.Spec.Selector)
		switch {
		case err != nil:
			errs = append(errs, field.Invalid(path.Child("selector"), typed.Spec.Selector, err.Error()))
		case selector.Empty():
			errs = append(errs, field.Invalid(path.Child("selector"), typed.Spec.Selector, "empty selector is invalid for deployment"))
		case !selector.Matches(labels.Set(typed.Spec.Template.Labels)):
			errs = append(errs, field.Invalid(path.Child("template", "metadata", "labels"), typed.Spec.Template.Labels,
				"`selector` does not match template `labels`"))
		}
		errs = append(errs, podSpec(&typed.Spec.Template.Spec, path.Child("template", "spec"))...)
	}
	errs = append(errs, apivalidation.ValidateObjectMeta(
		&metav1.ObjectMeta{
			Name: meta.GetName(), GenerateName: meta.GetGenerateName(), Namespace: meta.GetNamespace(),
			Labels: meta.GetLabels(), Annotations: meta.GetAnnotations(), Finalizers: meta.GetFinalizers(),
			OwnerReferences: meta.GetOwnerReferences(),
		},
		meta.GetNamespace() != "", nameRule, field.NewPath("metadata"))...)
	problems := make([]string, 0, len(errs))
	for _, err := range errs {
		problems = append(problems, err.Error())
	}
	return problems
}

func portName(name string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsValidPortName(name) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	return errs
}

// Container port names are well formed and unique, and a probe on a named port names one of them.
func podSpec(spec *corev1.PodSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range spec.Containers {
		container := &spec.Containers[i]
		at := path.Child("containers").Index(i)
		declared := map[string]bool{}
		for j, port := range container.Ports {
			if port.Name == "" {
				continue
			}
			errs = append(errs, portName(port.Name, at.Child("ports").Index(j).Child("name"))...)
			if declared[port.Name] {
				errs = append(errs, field.Duplicate(at.Child("ports").Index(j).Child("name"), port.Name))
			}
			declared[port.Name] = true
		}
		probes := []struct {
			name  string
			probe *corev1.Probe
		}{
			{"livenessProbe", container.LivenessProbe},
			{"readinessProbe", container.ReadinessProbe},
			{"startupProbe", container.StartupProbe},
		}
		for _, each := range probes {
			name, probe := each.name, each.probe
			if probe == nil {
				continue
			}
			if probe.HTTPGet != nil && probe.HTTPGet.Port.StrVal != "" && !declared[probe.HTTPGet.Port.StrVal] {
				errs = append(errs, field.NotFound(at.Child(name, "httpGet", "port"), probe.HTTPGet.Port.StrVal))
			}
		}
	}
	return errs
}
