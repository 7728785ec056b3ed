// SideStudiesMarkdown: the paper's Tables 5 and 6 as report sections.
#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "base/str_cat.h"
#include "fitting/report.h"
#include "fitting/side_studies.h"

namespace flopwise::fitting {
namespace {

void AppendTable(std::string& out, const SideStudy& study, std::string_view column_title) {
  absl::StrAppend(&out, "| arch | N | tokens |");
  for (const std::string& c : study.columns) out += Cat(" ", column_title, " ", c, " |");
  absl::StrAppend(&out, "\n| --- | --- | --- |");
  for (size_t c = 0; c < study.columns.size(); ++c) out += " --- |";
  out += "\n";
  for (const SideStudyRow& row : study.rows) {
    double lowest = std::numeric_limits<double>::infinity();
    for (double loss : row.loss) {
      if (std::isfinite(loss)) lowest = std::min(lowest, loss);
    }
    absl::StrAppend(&out, "| ", row.arch, " | ", FormatFinite(row.n_params, 3), " | ",
                    FormatFinite(row.tokens, 3), " |");
    for (double loss : row.loss) {
      if (!std::isfinite(loss)) {
        out += " - |";
      } else if (loss == lowest) {
        absl::StrAppend(&out, " **", FormatFinite(loss), "** |");
      } else {
        absl::StrAppend(&out, " ", FormatFinite(loss), " |");
      }
    }
    out += "\n";
  }
  out += "\n";
}

}  // namespace

std::string SideStudiesMarkdown(const SideStudies& studies) {
  std::string out;
  const std::string_view metric = LossMetricTitle(studies.metric);
  if (studies.context) {
    out +=
        Cat("## Loss against context length\n\nAs the paper's Table 5: each row is one "
            "architecture and model shape trained at several context lengths; the ",
            metric,
            " of each run at the tokens every run of the row reached (lowest in "
            "bold).\n\n");
    AppendTable(out, *studies.context, "context");
  }
  if (studies.aspect_ratio) {
    out +=
        Cat("## Loss against aspect ratio at fixed size\n\nAs the paper's Table 6: each "
            "row is one architecture at one model size (N within ",
            100 * kFixedSizeTolerance, "% of the smallest) in several shapes, d_model/layers; the ",
            metric,
            " of each run at the tokens every run of the row reached (lowest in "
            "bold).\n\n");
    AppendTable(out, *studies.aspect_ratio, "d_model/layers");
  }
  return out;
}

}  // namespace flopwise::fitting
