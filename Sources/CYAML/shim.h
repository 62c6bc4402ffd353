#ifndef RINGFENCE_CYAML_SHIM_H
#define RINGFENCE_CYAML_SHIM_H
#include <yaml.h>
#endif
