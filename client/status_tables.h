// The tables of `flopwise status` and `flopwise runs`, rendered from what the
// coordinator sends: a sweep's state, run counts and progress are its own
// summary (never recomputed here). Pure functions of their input.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>

#include "flopwise/v1/user_service.pb.h"

namespace flopwise::client {

// A header and one line per sweep: id, name, state, finished/total runs and
// a progress bar.
std::string SweepTable(std::span<const ::flopwise::v1::Sweep> sweeps);

// A header and one line per run update (by run id): state, progress bar,
// tokens, loss, validation loss ("-" when none), ETA while running, worker.
std::string RunUpdateTable(const std::map<int64_t, ::flopwise::v1::RunUpdate>& runs);

// A header and one line per run: sweep, arch, state, attempts, step, tokens,
// loss, validation loss ("-" when none), worker and a note: why a pending run
// waits ("pending: 3 runs ahead in the queue"), else the last failure.
std::string RunTable(std::span<const ::flopwise::v1::Run> runs);

}  // namespace flopwise::client
