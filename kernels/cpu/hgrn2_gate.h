// HGRN2's forget gate with a lower bound and the lower bound's layer softmax
// (docs/model-contract.md §4.2, §7.2, §7.4), templated on the element type.
#pragma once

#include "kernels/cpu/scratch.h"

namespace flopwise::kernels::cpu {

// phi,log_f,k [rows,dim]; lower_bound [dim]
template <typename T>
void Hgrn2GateForward(T* log_f, T* k, const T* phi, const T* lower_bound, int rows, int dim);
// dphi [rows,dim] = (written); dlower_bound [dim] += (nullable)
template <typename T>
void Hgrn2GateBackward(T* dphi, T* dlower_bound, const T* dlog_f, const T* dk, const T* phi,
                       const T* lower_bound, int rows, int dim, Scratch<T>& scratch);
// p,lower_bound [L,dim]
template <typename T>
void Hgrn2LowerBoundForward(T* lower_bound, const T* p, int layers, int dim);
// dp [L,dim] +=
template <typename T>
void Hgrn2LowerBoundBackward(T* dp, const T* dlower_bound, const T* p, int layers, int dim);

}  // namespace flopwise::kernels::cpu
