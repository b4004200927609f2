#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/daxvm.h>
static double now(void){struct timespec ts;clock_gettime(CLOCK_MONOTONIC,&ts);return ts.tv_sec+ts.tv_nsec/1e9;}
int main(int argc,char**argv){
	int fd=open(argv[1],O_RDONLY); unsigned long size=lseek(fd,0,SEEK_END); int loops=atoi(argv[2]);
	int flags=MAP_SHARED_VALIDATE|(argc>3?MAP_DAXVM:0); double tm=0,tu=0,t; int i;
	for(i=0;i<loops+3;i++){ t=now(); char*p=mmap(NULL,size,PROT_READ,flags,fd,0); double t1=now(); if(p==MAP_FAILED)return perror("mmap"),1; munmap(p,size); double t2=now(); if(i>=3){tm+=t1-t;tu+=t2-t1;} }
	printf("%s %lu %s mmap %.1f us munmap %.1f us total %.1f us\n",argv[1],size,argc>3?"daxvm":"plain",tm/loops*1e6,tu/loops*1e6,(tm+tu)/loops*1e6);
	return 0;}
