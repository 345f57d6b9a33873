//===- StructureSpecTest.cpp - fly-compile --structure parsing --*- C++ -*-===//

#include "StructureSpec.h"

#include <gtest/gtest.h>

using fly::compile::structureSpecToPipeline;

namespace {
std::string pipelineOf(const std::string &spec) {
  std::string pipeline, error;
  EXPECT_TRUE(structureSpecToPipeline(spec, pipeline, error)) << error;
  return pipeline;
}

std::string errorOf(const std::string &spec) {
  std::string pipeline, error;
  EXPECT_FALSE(structureSpecToPipeline(spec, pipeline, error)) << pipeline;
  return error;
}
} // namespace

TEST(StructureSpecTest, IssueExample) {
  EXPECT_EQ(pipelineOf("mlp=monarch:4,attn=scatterbrain:window=64:"
                       "features=32"),
            "fly-raise-linear,fly-raise-attention,"
            "fly-structure-linear{kind=monarch scope=mlp nblocks=4},"
            "fly-approximate-attention{kind=scatterbrain window=64 "
            "features=32}");
}

TEST(StructureSpecTest, KeysAndPositionalArguments) {
  EXPECT_EQ(pipelineOf("all=lowrank:96:init=random:seed=3"),
            "fly-raise-linear,fly-raise-attention,"
            "fly-structure-linear{kind=lowrank scope=all init=random rank=96 "
            "seed=3}");
  EXPECT_EQ(pipelineOf("mlp=pixelfly:block=32:rank=16"),
            "fly-raise-linear,fly-raise-attention,"
            "fly-structure-linear{kind=pixelfly scope=mlp block-size=32 "
            "rank=16}");
  EXPECT_EQ(pipelineOf("attn=local:128"),
            "fly-raise-linear,fly-raise-attention,"
            "fly-approximate-attention{kind=local window=128}");
  // Linear structure of the attention projections and an attention
  // approximation can be combined on the same scope.
  EXPECT_NE(pipelineOf("attn=lowrank:32,attn=performer:64")
                .find("fly-approximate-attention{kind=performer features=64}"),
            std::string::npos);
}

TEST(StructureSpecTest, RandomInitDefaultForKindsWithoutProjection) {
  EXPECT_EQ(pipelineOf("mlp=sketch:4"),
            "fly-raise-linear,fly-raise-attention,"
            "fly-structure-linear{kind=sketch scope=mlp init=random "
            "reduction=4}");
  EXPECT_NE(pipelineOf("all=butterfly:init=project").find("init=project"),
            std::string::npos);
}

TEST(StructureSpecTest, Errors) {
  EXPECT_NE(errorOf("").find("not SCOPE=KIND"), std::string::npos);
  EXPECT_NE(errorOf("mlp").find("not SCOPE=KIND"), std::string::npos);
  EXPECT_NE(errorOf("ffn=monarch:4").find("scope 'ffn'"), std::string::npos);
  EXPECT_NE(errorOf("mlp=tensortrain").find("kind 'tensortrain'"),
            std::string::npos);
  EXPECT_NE(errorOf("mlp=scatterbrain:64").find("needs scope attn"),
            std::string::npos);
  EXPECT_NE(errorOf("mlp=monarch:4,mlp=lowrank:8").find("twice"),
            std::string::npos);
  EXPECT_NE(errorOf("mlp=monarch:four").find("not KEY=VALUE"),
            std::string::npos);
  EXPECT_NE(errorOf("mlp=monarch:window=4").find("no option 'window'"),
            std::string::npos);
  EXPECT_NE(errorOf("mlp=monarch:nblocks=0").find("positive integer"),
            std::string::npos);
  EXPECT_NE(errorOf("mlp=monarch:init=svd").find("project or random"),
            std::string::npos);
  EXPECT_NE(errorOf("mlp=monarch:4,").find("not SCOPE=KIND"),
            std::string::npos);
}
