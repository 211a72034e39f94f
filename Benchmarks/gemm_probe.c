// GEMM probe: dnnl_sgemm vs OpenBLAS cblas_sgemm for the shapes of the benchmark workloads.
// Build and run: gcc -O2 Benchmarks/gemm_probe.c -o /tmp/gemm_probe -ldnnl -lopenblas -I/usr/include/x86_64-linux-gnu && OMP_NUM_THREADS=2 /tmp/gemm_probe
#include <dnnl.h>
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
void run(const char*name,int M,int N,int K,char ta,char tb,int useblas){
  float*A=malloc(4L*M*K),*B=malloc(4L*K*N),*C=malloc(4L*M*N);
  for(long i=0;i<(long)M*K;i++)A[i]=(i%7)*0.1f; for(long i=0;i<(long)K*N;i++)B[i]=(i%5)*0.1f;
  int lda= ta=='N'?K:M, ldb= tb=='N'?N:K;
  int reps=50; double best=1e9;
  for(int r=0;r<3;r++){double t0=now();
  for(int i=0;i<reps;i++){ if(useblas) cblas_sgemm(CblasRowMajor, ta=='N'?CblasNoTrans:CblasTrans, tb=='N'?CblasNoTrans:CblasTrans,M,N,K,1.f,A,lda,B,ldb,0.f,C,N);
   else dnnl_sgemm(ta,tb,M,N,K,1.f,A,lda,B,ldb,0.f,C,N);}
  double t=(now()-t0)/reps; if(t<best)best=t;}
  printf("%s %s %c%c M%d N%d K%d: %.1f GFLOP/s\n",useblas?"blas":"dnnl",name,ta,tb,M,N,K,2.0*M*N*K/best/1e9);
  free(A);free(B);free(C);
}
int main(){
  for(int b=0;b<2;b++){
  run("fwd",128,1200,784,'N','T',b); run("fwd",128,1200,784,'N','N',b);
  run("fwd",128,1200,1200,'N','T',b); run("fwd",128,1200,1200,'N','N',b);
  run("dX",128,1200,1200,'N','N',b); run("dW",1200,1200,128,'T','N',b);
  run("conv",64,25088,288,'N','N',b); run("inf",1024,1200,1200,'N','T',b);}
}
