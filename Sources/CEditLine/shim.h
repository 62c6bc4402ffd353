#ifndef RINGFENCE_CEDITLINE_SHIM_H
#define RINGFENCE_CEDITLINE_SHIM_H
#include <stdio.h>
#include <editline/readline.h>
#endif
