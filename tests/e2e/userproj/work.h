int work_add(int a, int b);
int work_twice(int a);
