// The one way flopwise renders numbers for people: the CLI's tables and
// `status` bars and flopwise-train's terminal progress line all call these.
// Pure functions of their arguments; thread-safe.
#pragma once

#include <string>

namespace flopwise {

// "[#######.....]  58%": `width` cells between the brackets, then the percent
// rounded down. Fractions outside [0, 1] (and NaN) are clamped.
std::string ProgressBar(double fraction, int width);

// A count with two decimals and an SI suffix: 512 -> "512", 1234 -> "1.23k",
// 999999 -> "1.00M" (a value that would round to 1000 of a unit takes the
// next unit), 2.5e9 -> "2.50G", 3e21 -> "3.00e+21" (from 1000T on); "nan".
std::string ShortCount(double value);

// Seconds as "45s", "12m05s", "3h20m", "3d04h" (the two largest units,
// rounded to the second); "?" for a negative, NaN or infinite (unknown) time.
std::string ShortDuration(double seconds);

}  // namespace flopwise
