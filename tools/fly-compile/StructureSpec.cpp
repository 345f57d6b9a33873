//===- StructureSpec.cpp - Parse fly-compile --structure --------*- C++ -*-===//

#include "StructureSpec.h"

#include <map>
#include <set>
#include <sstream>
#include <vector>

namespace {
std::vector<std::string> split(const std::string &text, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, sep);)
    parts.push_back(part);
  if (!text.empty() && text.back() == sep)
    parts.push_back("");
  return parts;
}

bool isInteger(const std::string &s) {
  if (s.empty() || s.size() > 9)
    return false;
  for (char c : s)
    if (c < '0' || c > '9')
      return false;
  return true;
}

struct KindInfo {
  bool attention;
  const char *mainKey; // what a bare integer argument means
  std::set<std::string> keys;
};

const std::map<std::string, KindInfo> &kinds() {
  static const std::map<std::string, KindInfo> table = {
      {"monarch", {false, "nblocks", {"nblocks", "init", "seed"}}},
      {"lowrank", {false, "rank", {"rank", "init", "seed"}}},
      {"pixelfly", {false, "block", {"block", "rank", "init", "seed"}}},
      {"butterfly", {false, nullptr, {"init", "seed"}}},
      {"sketch", {false, "reduction", {"reduction", "init", "seed"}}},
      {"local", {true, "window", {"window"}}},
      {"performer", {true, "features", {"features", "seed"}}},
      {"scatterbrain", {true, "window", {"window", "features", "seed"}}},
  };
  return table;
}
} // namespace

bool fly::compile::structureSpecToPipeline(const std::string &spec,
                                           std::string &pipeline,
                                           std::string &error) {
  if (spec.empty()) {
    error = "--structure entry '' is not SCOPE=KIND[:ARG...]";
    return false;
  }
  std::string passes = "fly-raise-linear,fly-raise-attention";
  std::set<std::string> seenScopes;
  for (const std::string &entry : split(spec, ',')) {
    size_t eq = entry.find('=');
    if (entry.empty() || eq == std::string::npos) {
      error = "--structure entry '" + entry + "' is not SCOPE=KIND[:ARG...]";
      return false;
    }
    std::string scope = entry.substr(0, eq);
    if (scope != "mlp" && scope != "attn" && scope != "all") {
      error = "--structure scope '" + scope + "' must be mlp, attn or all";
      return false;
    }
    std::vector<std::string> parts = split(entry.substr(eq + 1), ':');
    const std::string &kind = parts.front();
    auto it = kinds().find(kind);
    if (it == kinds().end()) {
      error = "--structure kind '" + kind +
              "' is not one of monarch, lowrank, pixelfly, butterfly, "
              "sketch, local, performer, scatterbrain";
      return false;
    }
    const KindInfo &info = it->second;
    if (info.attention && scope != "attn") {
      error = "--structure: attention kind '" + kind +
              "' needs scope attn, not " + scope;
      return false;
    }
    std::string key = scope + (info.attention ? "/attention" : "/linear");
    if (!seenScopes.insert(key).second) {
      error = "--structure gives scope " + scope + " twice";
      return false;
    }
    std::map<std::string, std::string> args;
    for (size_t i = 1; i < parts.size(); ++i) {
      std::string name, value;
      size_t sep = parts[i].find('=');
      if (sep == std::string::npos) {
        if (!info.mainKey || !isInteger(parts[i])) {
          error = "--structure argument '" + parts[i] + "' of " + kind +
                  " is not KEY=VALUE" +
                  (info.mainKey ? std::string(" or an integer ") + info.mainKey
                                : "");
          return false;
        }
        name = info.mainKey;
        value = parts[i];
      } else {
        name = parts[i].substr(0, sep);
        value = parts[i].substr(sep + 1);
      }
      if (!info.keys.count(name)) {
        std::string allowed;
        for (const std::string &k : info.keys)
          allowed += (allowed.empty() ? "" : ", ") + k;
        error = "--structure: " + kind + " has no option '" + name +
                "' (it takes " + allowed + ")";
        return false;
      }
      bool ok = name == "init" ? (value == "project" || value == "random")
                               : isInteger(value) && value != "0";
      if (name == "seed")
        ok = isInteger(value);
      if (!ok) {
        error = "--structure: " + kind + " option " + name + "=" + value +
                (name == "init" ? " must be project or random"
                                : " must be a positive integer");
        return false;
      }
      args[name] = value;
    }
    std::string options;
    auto add = [&](const std::string &k, const std::string &v) {
      options += (options.empty() ? "" : " ") + k + "=" + v;
    };
    add("kind", kind);
    if (info.attention) {
      for (const char *k : {"window", "features", "seed"})
        if (args.count(k))
          add(k, args[k]);
      passes += ",fly-approximate-attention{" + options + "}";
      continue;
    }
    add("scope", scope);
    // Butterfly and sketch have no closed-form projection: unless asked
    // otherwise they start from random factors.
    if ((kind == "butterfly" || kind == "sketch") && !args.count("init"))
      args["init"] = "random";
    static const std::map<std::string, std::string> optionName = {
        {"nblocks", "nblocks"}, {"rank", "rank"}, {"block", "block-size"},
        {"init", "init"},       {"seed", "seed"}, {"reduction", "reduction"}};
    for (const auto &[k, v] : args)
      add(optionName.at(k), v);
    passes += ",fly-structure-linear{" + options + "}";
  }
  pipeline = passes;
  return true;
}
