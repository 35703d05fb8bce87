// Stand-in for the MPI binding when the addon was built without Open MPI (no mpicc at configure
// time): it exports only mpiAvailable = false, so the loader can say what to install.
#include "common.h"

namespace ulysses {

void register_mpi(Napi::Env env, Napi::Object exports) {
  exports.Set("mpiAvailable", Napi::Boolean::New(env, false));
}

}  // namespace ulysses
